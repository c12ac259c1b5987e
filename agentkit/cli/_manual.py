"""`agentkit manual RUN_DIR`: the rule manual a search learned, as the meta agent reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agentkit.cli._app import app

if TYPE_CHECKING:
    from agentkit.archive import RuleOrigin


@app.command("manual")
def manual_command(
    run_dir: Path = typer.Argument(..., help="Run directory of a search (archives/<run>)."),
    all_rules: bool = typer.Option(
        False, "--all", help="Also list candidate and retired rules with their evidence, lift and history."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rules as JSON (for scripts)."),
) -> None:
    """Print the rule manual compiled from the run's active rules (every rule's text word for word)."""
    from agentkit.archive import Archive
    from agentkit.reflect import compile_manual

    with Archive.open(run_dir, repair_files=False) as archive:
        holder = archive.held_by()
        if holder is not None:  # on stderr, so that --json stays clean
            typer.echo(
                f"note: run in progress: held by {holder.describe()}; the manual may still change", err=True
            )
        rules = archive.rules()
        if as_json:
            chosen = rules if all_rules else [r for r in rules if r.status == "active"]
            out = [
                {
                    **r.model_dump(mode="json"),
                    "lift": r.lift,
                    "shown_mean": r.shown_mean,
                    "hidden_mean": r.hidden_mean,
                }
                for r in chosen
            ]
            typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
            return
        text = compile_manual(archive)
        typer.echo(text if text else f"{run_dir}: no active rules (yet).")
        if not all_rules:
            return
        from rich.table import Table

        from agentkit.cli._console import plain_console

        table = Table(title=f"rules of {run_dir}", show_lines=False)
        carried = any(r.imported_from is not None for r in rules)
        columns = ("id", "type", "status", "rule", "evidence", "lift", "gens") + (
            ("from",) if carried else ()
        )
        for column in columns:
            table.add_column(column, overflow="fold")
        for r in rules:
            lift = "-" if r.lift is None else f"{r.lift:+.3f}"
            cited = ", ".join(f"{e.agent_id}@g{e.generation}" for e in r.evidence[:4])
            if len(r.evidence) > 4:
                cited += f", +{len(r.evidence) - 4}"
            table.add_row(
                r.id,
                r.type,
                r.status,
                r.text,
                cited or "-",
                f"{lift} ({r.shown_count} shown / {r.hidden_count} hidden)",
                f"g{r.created_gen}-g{r.last_confirmed_gen}",
                *((_origin(r.imported_from),) if carried else ()),
            )
        plain_console().print(table)


def _origin(origin: RuleOrigin | None) -> str:
    """Where a rule imported with ``--manual-from`` came from ("this run" for the run's own)."""
    if origin is None:
        return "this run"
    lift = "" if origin.lift is None else f", lift {origin.lift:+.3f} there"
    return f"{Path(origin.run_dir).name} {origin.rule_id}{lift}"
