"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

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
LIMIT = typer.Option(50, "--limit", "-n", help="Number of examples (the first N of the task).")
CONCURRENCY = typer.Option(8, "--concurrency", "-c", help="Examples evaluated at once.")
ISOLATION = typer.Option(
    "auto", "--isolation", help="auto | bwrap | process | trusted (in-process, for reviewed code only)."
)
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the LLM response cache.")
JSON_OUT = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
SEED = typer.Option(0, "--seed", help="Seed for bootstrap intervals and any sampling.")
TIMEOUT = typer.Option(120.0, "--example-timeout", help="Wall-time limit per example, in seconds.")


def model_overrides(api_base: str | None) -> dict[str, object]:
    """ModelConfig fields implied by the shared options."""
    if api_base is None:
        return {}
    # A custom endpoint needs some key; an OpenAI-compatible local server ignores it.
    import os

    return {"api_base": api_base, "api_key": os.environ.get("OPENAI_API_KEY", "x")}
