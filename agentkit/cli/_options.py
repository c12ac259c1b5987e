"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from typing import Any

import typer

MODEL = typer.Option(
    None, "--model", "-m", help="Agent model: litellm 'provider/name', or 'local' (default without a key)."
)
API_BASE = typer.Option(
    None, "--api-base", help="OpenAI-compatible base URL for --model (e.g. a local server)."
)
TASK = typer.Option(..., "--task", "-t", help="Task name: gsm8k, mgsm, bbh/<task>, gen/<kind>, jsonl:<path>.")
DATA_DIR = typer.Option(
    None,
    "--data-dir",
    envvar="AGENTKIT_DATA_DIR",
    help="Folder with local task data (laid out like shared/data).",
)
LIMIT = typer.Option(50, "--limit", "-n", min=1, help="Number of examples (the first N of the task).")
CONCURRENCY = typer.Option(8, "--concurrency", "-c", min=1, help="Examples evaluated at once.")
ISOLATION = typer.Option(
    "auto", "--isolation", help="auto | bwrap | process | trusted (in-process, for reviewed code only)."
)
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the LLM response cache.")
JSON_OUT = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
SEED = typer.Option(0, "--seed", help="Seed for bootstrap intervals and any sampling.")
TIMEOUT = typer.Option(120.0, "--example-timeout", min=0.1, help="Wall-time limit per example, in seconds.")
TASK_OPTS = typer.Option(
    [],
    "--opt",
    help="Task option KEY=VALUE, repeatable: e.g. --opt seed=3 --opt difficulty=4 for gen/*, "
    "--opt input_field=question --opt target_field=answer --opt scorer=numeric for jsonl:<path>.",
)


def parse_task_opts(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as task options; integer-looking values become ints."""
    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--opt")
        opts[key.strip().replace("-", "_")] = int(value) if value.strip().lstrip("-").isdigit() else value
    return opts


def model_overrides(api_base: str | None) -> dict[str, object]:
    """ModelConfig fields implied by the shared options."""
    if api_base is None:
        return {}
    # A custom endpoint needs some key; an OpenAI-compatible local server ignores it.
    import os

    return {"api_base": api_base, "api_key": os.environ.get("OPENAI_API_KEY", "x")}
