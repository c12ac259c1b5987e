"""`run_sweep`: every cell of a grid, one after the other, each into its own run directory.

Cells run in the grid's order; with an executor (a Ray cluster, started once for the whole sweep) the
examples of each agent cell are spread over the cluster's actors. Only this process writes the sweep
directory. Run it again after a stop: finished cells (those with ``cell.json``) are skipped, and an
unfinished cell goes on from the examples it had finished.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agentkit.sweep._cells import CellRow, read_cell, run_agent_cell, run_search_cell
from agentkit.sweep._grid import SweepCell, SweepGrid

if TYPE_CHECKING:
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.evaluate._session import Isolation

GRID_FILE = "grid.json"


async def run_sweep(
    grid: SweepGrid,
    sweep_dir: str | Path,
    *,
    isolation: Isolation = "auto",
    cache: bool = True,
    executor: ExampleExecutor | None = None,
    on_cell: Callable[[SweepCell, CellRow | None, bool], None] | None = None,
) -> list[CellRow | None]:
    """Run every unfinished cell of `grid` under `sweep_dir` and return one row per cell in the grid's
    order (None for a cell left unfinished: examples unscored by the provider, or a search
    interrupted). `on_cell(cell, row, skipped)` hears of each cell as it ends (or is skipped)."""
    from agentkit.archive import write_atomic

    _check_names(grid)
    root = Path(sweep_dir)
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / GRID_FILE, grid.model_dump_json(indent=2))
    rows: list[CellRow | None] = []
    for cell in grid.cells():
        cell_dir = root / cell.name
        row = read_cell(cell_dir)
        skipped = row is not None
        if row is None:
            if cell.kind == "agent":
                row = await run_agent_cell(
                    cell, grid, cell_dir, isolation=isolation, cache=cache, executor=executor
                )
            else:
                row = await run_search_cell(cell, grid, cell_dir, cache=cache)
        rows.append(row)
        if on_cell is not None:
            on_cell(cell, row, skipped)
    return rows


def _check_names(grid: SweepGrid) -> None:
    """Every task and agent of the grid, loaded once before any cell is made: a misspelt name stops the
    sweep here with its own error, not after the cells before it ran (leaving a cell of it behind)."""
    from agentkit.evaluate import resolve_agent
    from agentkit.tasks import check_task_name

    for task in dict.fromkeys(grid.tasks):
        check_task_name(task)  # the name only: each cell loads it with its own options
    for agent in dict.fromkeys(grid.agents):
        resolve_agent(agent)


def sweep_rows(sweep_dir: str | Path) -> list[CellRow]:
    """The rows of the finished cells under `sweep_dir`, in the order of its grid."""
    root = Path(sweep_dir)
    grid = SweepGrid.model_validate_json((root / GRID_FILE).read_text())
    found = (read_cell(root / cell.name) for cell in grid.cells())
    return [row for row in found if row is not None]
