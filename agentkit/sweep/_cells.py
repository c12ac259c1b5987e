"""Running one cell of a sweep into its own run directory, and what it left there (``cell.json``).

An agent cell is a run directory holding that one agent, scored on the task with
`agentkit.report.evaluate_run` (results stored one by one under the ``eval`` split, so a stopped cell
goes on where it stopped); a search cell is a normal Meta Agent Search run (resumed when its directory
exists). Both get their ``report.html``. ``cell.json`` is written last, atomically, and only when the
cell is complete: a cell with it is never run again; a cell without it is run (or resumed) next time.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentkit.sweep._grid import SweepCell, SweepGrid

if TYPE_CHECKING:
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.evaluate._session import Isolation

CELL_FILE = "cell.json"


class CellRow(BaseModel):
    """One finished cell, as the summary shows it."""

    cell: str
    """The cell's directory name."""
    task: str
    """Task."""
    model: str
    """Agent model."""
    kind: str
    """``agent`` or ``search``."""
    run: str
    """The agent, or the search configuration's name."""
    seed: int
    """Seed."""
    status: str
    """``done``; for a search, how it ended (``finished``, ``budget_exhausted``)."""
    n: int = 0
    """Examples an agent cell's score covers (0 for a search cell)."""
    mean: float | None = None
    """Mean score (a search: its selected agent's search-split mean)."""
    low: float | None = None
    """Lower bound of the 95% interval."""
    high: float | None = None
    """Upper bound of the 95% interval."""
    test_mean: float | None = None
    """A search's selected agent on the sealed test split (None for agent cells)."""
    agents: int | None = None
    """Agents a search cell's archive holds (None for agent cells)."""
    cost_usd: float | None = None
    """Dollars spent on the cell's score (None when a price is unknown)."""
    report: str = "report.html"
    """The cell's report, relative to its directory."""


def read_cell(cell_dir: Path) -> CellRow | None:
    """The finished cell's row, or None when the cell has not finished."""
    path = cell_dir / CELL_FILE
    if not path.exists():
        return None
    return CellRow.model_validate_json(path.read_text())


def _finish(cell_dir: Path, cell: SweepCell, **outcome: Any) -> CellRow:
    """The cell's row (its identity and `outcome`), written beside its run with the run's report."""
    from agentkit.archive import write_atomic
    from agentkit.report import write_report

    row = CellRow(
        cell=cell.name,
        task=cell.task,
        model=cell.model,
        kind=cell.kind,
        run=cell.run,
        seed=cell.seed,
        **outcome,
    )
    write_report(cell_dir)
    write_atomic(cell_dir / CELL_FILE, row.model_dump_json(indent=2))
    return row


def _task_options(cell: SweepCell) -> dict[str, Any]:
    return {"seed": cell.seed} if cell.task.startswith("gen/") else {}


def _overrides(grid: SweepGrid) -> dict[str, object]:
    from agentkit.llm import endpoint_settings

    return endpoint_settings(grid.api_base)


async def run_agent_cell(
    cell: SweepCell,
    grid: SweepGrid,
    cell_dir: Path,
    *,
    isolation: Isolation,
    cache: bool,
    executor: ExampleExecutor | None,
) -> CellRow | None:
    """Score the cell's agent into `cell_dir` (created, or continued). The row, or None when examples
    were left unscored by the provider (the cell then runs again next time)."""
    from agentkit.archive import Archive
    from agentkit.evaluate import resolve_agent
    from agentkit.report import evaluate_run

    spec = resolve_agent(cell.run)
    if not cell_dir.exists():
        # Built aside and renamed into place: a sweep killed while creating it leaves no half-made run
        # (only the aside folder, which the next start replaces).
        aside = cell_dir.with_name(f".{cell_dir.name}.new")
        if aside.exists():
            shutil.rmtree(aside)
        config = {"task": cell.task, "source": "sweep", "sweep_cell": cell.model_dump()}
        with Archive.create(aside, config, lock=True) as archive:
            archive.add_agent(spec.name, spec.code, origin="seed", meta={"source": spec.source})
        aside.rename(cell_dir)
    done = await evaluate_run(
        cell_dir,
        task=cell.task,
        model=cell.model,
        model_overrides=_overrides(grid),
        task_options=_task_options(cell),
        limit=grid.limit,
        concurrency=grid.concurrency,
        isolation=isolation,
        cache=cache,
        seed=cell.seed,
        wall_time_s=grid.example_timeout_s,
        executor=executor,
    )
    (row,) = done.agents
    if row.unscored:
        return None
    return _finish(
        cell_dir,
        cell,
        status="done",
        n=row.n,
        mean=row.mean,
        low=row.low,
        high=row.high,
        cost_usd=row.cost_usd,
    )


async def run_search_cell(cell: SweepCell, grid: SweepGrid, cell_dir: Path, *, cache: bool) -> CellRow | None:
    """Run (or resume) the cell's search into `cell_dir`; the row, or None when it stopped at a stop
    request (`agentkit.search.request_stop`; it resumes next time). A cancellation is raised, the run
    recorded as interrupted. Searches run on this machine (their examples are not spread over a cluster yet)."""
    from agentkit._api import run_search
    from agentkit.archive import Archive
    from agentkit.search import SearchConfig

    if Archive.exists(cell_dir):
        outcome = await run_search(None, cell_dir, resume=True)
    else:
        settings: dict[str, Any] = {
            "task": cell.task,
            "model": cell.model,
            "meta_model": cell.model,
            "seed": cell.seed,
            "cache": cache,
            "progress": False,
            "task_options": _task_options(cell),
        }
        if grid.api_base is not None:
            settings["api_base"] = grid.api_base
        settings |= grid.search(cell.run).settings()
        outcome = await run_search(SearchConfig.model_validate(settings), cell_dir)
    if outcome.status == "interrupted":
        return None
    chosen = outcome.selected
    spent = outcome.spent.get("cost_usd")
    return _finish(
        cell_dir,
        cell,
        status=outcome.status,
        agents=outcome.agents,
        mean=chosen.search_mean if chosen else None,
        low=chosen.search_low if chosen else None,
        high=chosen.search_high if chosen else None,
        test_mean=chosen.test_mean if chosen else None,
        cost_usd=spent if isinstance(spent, int | float) else None,
    )
