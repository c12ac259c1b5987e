"""Sweeps: a grid of tasks x models x (agents or search configurations) x seeds, one run per cell.

Public names:
    SweepGrid, SweepCell, SearchCellConfig, read_grid: the grid (``sweep.toml``) and its cells
    run_sweep: run every unfinished cell, each into its own run directory (resumable)
    CellRow, sweep_rows: the finished cells' results; write_index: the sweep's ``index.html``
"""

from __future__ import annotations

from agentkit.sweep._cells import CELL_FILE, CellRow, read_cell
from agentkit.sweep._grid import SearchCellConfig, SweepCell, SweepGrid, read_grid
from agentkit.sweep._index import INDEX_NAME, write_index
from agentkit.sweep._sweep import GRID_FILE, run_sweep, sweep_rows

__all__ = [
    "CELL_FILE",
    "GRID_FILE",
    "INDEX_NAME",
    "CellRow",
    "SearchCellConfig",
    "SweepCell",
    "SweepGrid",
    "read_cell",
    "read_grid",
    "run_sweep",
    "sweep_rows",
    "write_index",
]
