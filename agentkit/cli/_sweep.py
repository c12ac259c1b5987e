"""`agentkit sweep --grid sweep.toml`: a grid of runs, one run directory per cell, resumable, summarised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agentkit.cli import _options as opt
from agentkit.cli._app import app
from agentkit.cli._cluster import EXECUTOR, RAY_ACTORS, RAY_ADDRESS, ExecutorChoice, open_executor
from agentkit.cli._interrupt import run_or_interrupted

if TYPE_CHECKING:
    from agentkit.sweep import CellRow, SweepCell


@app.command("sweep")
def sweep_command(
    grid: Path = typer.Option(
        ..., "--grid", help="TOML grid: tasks, models, agents and/or [[searches]], seeds, limit (see README)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="The sweep directory (default: archives/sweep-<grid file name>)."
    ),
    isolation: str = opt.ISOLATION,
    no_cache: bool = opt.NO_CACHE,
    executor: str = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
    ray_actors: int | None = RAY_ACTORS,
    as_json: bool = opt.JSON_OUT,
) -> None:
    """Run every cell of a grid (tasks x models x agents or search configs x seeds), each into its own
    run directory under the sweep directory; run it again to go on after a stop (finished cells are
    kept). Ends with a summary table and the sweep's index.html."""
    from rich.table import Table

    from agentkit.cli._console import plain_console
    from agentkit.evaluate._session import check_isolation
    from agentkit.sweep import read_grid, run_sweep, sweep_rows, write_index

    plan = read_grid(grid)
    where = ExecutorChoice(executor, ray_address, ray_actors)
    sweep_dir = out or Path("archives") / f"sweep-{grid.stem}"
    level = check_isolation(isolation)
    err = plain_console(stderr=True)

    def heard(cell: SweepCell, row: CellRow | None, skipped: bool) -> None:
        what = "kept (finished before)" if skipped else ("done" if row is not None else "not finished")
        err.print(f"{cell.name}: {what}")

    async def go() -> None:
        async with open_executor(
            where, per_actor=plan.concurrency, isolation=level, cache=not no_cache, budget=None
        ) as ex:
            await run_sweep(plan, sweep_dir, isolation=level, cache=not no_cache, executor=ex, on_cell=heard)

    # Ctrl-C cancels the cell in progress; what it finished is stored (a search records the stop)
    run_or_interrupted(
        go(), again=f"run the same command again to go on: finished cells are kept in {sweep_dir}"
    )
    rows = sweep_rows(sweep_dir)
    index = write_index(sweep_dir, plan, rows)
    total = len(plan.cells())
    if as_json:
        print(
            json.dumps(
                {
                    "sweep_dir": str(sweep_dir),
                    "index": str(index),
                    "executor": where.kind,
                    "cells": total,
                    "finished": len(rows),
                    "rows": [r.model_dump() for r in rows],
                },
                indent=2,
            )
        )
    else:
        table = Table(title=f"sweep {sweep_dir.name}: {len(rows)} of {total} cells finished")
        for col in ("task", "model", "agent / search", "seed", "mean [95% CI]", "test", "cost"):
            table.add_column(
                col, justify="right" if col in ("seed", "mean [95% CI]", "test", "cost") else "left"
            )
        for r in rows:
            score = "" if r.mean is None else f"{r.mean:.1%} [{r.low or 0:.1%}, {r.high or 0:.1%}]"
            table.add_row(
                r.task,
                r.model,
                f"{r.kind}: {r.run}",
                str(r.seed),
                score,
                "" if r.test_mean is None else f"{r.test_mean:.1%}",
                "n/a" if r.cost_usd is None else f"${r.cost_usd:.4f}",
            )
        plain_console().print(table)
        plain_console().print(f"index: {index}")
    if len(rows) < total:
        err.print(f"{total - len(rows)} cell(s) not finished: run the same command again to go on")
        raise typer.Exit(3)
