"""`agentkit show`, `report`, `export` and `import-adas`: seeing and shipping what a search found."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from agentkit.cli import _options as opt
from agentkit.cli._app import app

RUN_DIR = typer.Argument(..., help="Run directory (holds archive.sqlite), e.g. archives/my-run.")


@app.command("show")
def show_command(
    run_dir: Path = RUN_DIR,
    agent: str | None = typer.Argument(None, help="An agent id or name: show its thought, code and history."),
    sort: str = typer.Option("score", "--sort", help="score (search-split lower bound) | generation."),
    as_json: bool = opt.JSON_OUT,
) -> None:
    """Table of a run's agents, or one agent in detail."""
    from agentkit.errors import ConfigError
    from agentkit.report import agent_detail, open_run, render_detail, render_table, run_table

    if sort not in ("score", "generation"):
        raise ConfigError(f"--sort must be score or generation, not {sort!r}")
    with open_run(run_dir) as archive:
        if agent is None:
            table = run_table(archive, sort="score" if sort == "score" else "generation")
            data = table.model_dump(mode="json")
            renderable = None if as_json else render_table(table)
        else:
            detail = agent_detail(archive, agent)
            data = detail.model_dump(mode="json")
            renderable = None if as_json else render_detail(detail)
    if renderable is None:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from agentkit.cli._console import plain_console

    plain_console().print(renderable)


@app.command("report")
def report_command(
    run_dir: Path = RUN_DIR,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write (default: RUN_DIR/report.html)."
    ),
) -> None:
    """Write one self-contained report.html about a run (opens offline; no scripts)."""
    from agentkit.archive import lock_holder
    from agentkit.report import write_report

    path = write_report(run_dir, out=out)
    holder = lock_holder(run_dir)
    if holder is not None:
        print(
            f"note: run in progress: held by {holder.describe()}; the report is a snapshot", file=sys.stderr
        )
    print(path)


@app.command("export")
def export_command(
    run_dir: Path = RUN_DIR,
    agent: str | None = typer.Argument(
        None, help="Agent id or name (default: the selected one, by search-split lower bound)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="File to write (default: RUN_DIR/best.py, or RUN_DIR/<id>_<name>.py)."
    ),
    as_json: bool = opt.JSON_OUT,
) -> None:
    """Write one agent as a standalone file for agentkit.load_agent."""
    from agentkit.records import printable
    from agentkit.report import export_agent
    from agentkit.report._format import fmt_score

    result = export_agent(run_dir, agent, out=out)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    if result.in_progress is not None:
        print(
            f"note: run in progress: held by {result.in_progress.describe()}; the selection may still change",
            file=sys.stderr,
        )
    chosen = " (selected by search-split lower bound)" if result.selected else ""
    print(f"exported {printable(result.name)} ({result.agent_id}){chosen}", file=sys.stderr)
    print(
        f"  search {fmt_score(result.search, with_n=True)}; sealed test {fmt_score(result.test)}",
        file=sys.stderr,
    )
    print(result.path)


@app.command("import-adas")
def import_adas_command(
    source: Path = typer.Argument(
        ...,
        help="An ADAS archive file: a JSON list of {thought, name, code, fitness[, test_fitness]} "
        "(run_archive.json, evaluate.json or ADAS's published results).",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="New run directory (default: archives/adas-<file>)."
    ),
    task: str | None = typer.Option(None, "--task", "-t", help="The task these agents were made for."),
    as_json: bool = opt.JSON_OUT,
) -> None:
    """Read an ADAS archive into a new run so its agents can be re-evaluated here (agentkit eval --run)."""
    from agentkit.report import import_adas

    report = import_adas(source, out=out, task=task)
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    print(
        f"imported {len(report.imported)} agent(s) from {report.source} into {report.run_dir}",
        file=sys.stderr,
    )
    for skipped in report.skipped:
        print(f"  skipped entry {skipped.index}: {skipped.reason}", file=sys.stderr)
    if report.imported:
        print(
            f"  score them here: agentkit eval --run {report.run_dir}"
            + ("" if task else " --task <task>")
            + " --model <model>",
            file=sys.stderr,
        )
    print(report.run_dir)
