"""The sweep's ``index.html``: one table of every cell, each linking to its run's report."""

from __future__ import annotations

from html import escape
from pathlib import Path

from agentkit.sweep._cells import CellRow
from agentkit.sweep._grid import SweepGrid

INDEX_NAME = "index.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-child(-n+5), td:nth-child(-n+5) { text-align: left; }
td.missing { color: #999; }
"""


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def write_index(sweep_dir: str | Path, grid: SweepGrid, rows: list[CellRow]) -> Path:
    """Write ``index.html`` into `sweep_dir`: every cell of `grid`, finished ones linked to their report."""
    from agentkit.archive import write_atomic

    root = Path(sweep_dir)
    by_name = {row.cell: row for row in rows}
    lines = []
    for cell in grid.cells():
        row = by_name.get(cell.name)
        head = [cell.task, cell.model, f"{cell.kind}: {cell.run}", str(cell.seed)]
        cells = "".join(f"<td>{escape(text)}</td>" for text in head)
        if row is None:
            lines.append(f'<tr>{cells}<td class="missing" colspan="5">not finished</td></tr>')
            continue
        link = f'<a href="{escape(cell.name)}/{escape(row.report)}">report</a>'
        interval = "" if row.low is None else f"[{_pct(row.low)}, {_pct(row.high)}]"
        values = [
            link,
            _pct(row.mean),
            interval,
            _pct(row.test_mean),
            "" if row.cost_usd is None else f"${row.cost_usd:.4f}",
        ]
        lines.append(f"<tr>{cells}" + "".join(f"<td>{v}</td>" for v in values) + "</tr>")
    header = "".join(
        f"<th>{h}</th>"
        for h in ("task", "model", "agent / search", "seed", "run", "mean", "95% CI", "test", "cost")
    )
    done = sum(1 for cell in grid.cells() if cell.name in by_name)
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>sweep {escape(root.name)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>sweep {escape(root.name)}</h1>"
        f"<p>{done} of {len(grid.cells())} cells finished.</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table></body></html>\n"
    )
    path = root / INDEX_NAME
    write_atomic(path, html)
    return path
