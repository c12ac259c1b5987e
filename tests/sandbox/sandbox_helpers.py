"""Helpers shared by the sandbox tests: which isolation levels work here, model handlers, agent code."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path
from typing import Any

from agentkit.errors import SandboxError
from agentkit.sandbox import Sandbox, SandboxConfig

REPO = Path(__file__).resolve().parents[2]
STANDIN_RUNTIME = Path(__file__).resolve().parent / "standin_runtime"


def runtime_dir() -> Path | None:
    """None (the real agentkit.runtime) once it defines run_agent, else the stand-in."""
    init = REPO / "agentkit" / "runtime" / "__init__.py"
    return None if "run_agent" in init.read_text(encoding="utf-8") else STANDIN_RUNTIME


@functools.cache
def level_for(isolation: str) -> str | None:
    """The level a Sandbox gets for `isolation` here, or None when it cannot start at all."""

    async def probe() -> str:
        async with Sandbox(SandboxConfig(isolation=isolation, workers=1), runtime_dir=runtime_dir()) as sb:  # type: ignore[arg-type]
            return sb.isolation_level

    try:
        return asyncio.run(probe())
    except SandboxError:
        return None


def expected_level(isolation: str) -> str:
    """The level `isolation` ("bwrap" or "process") must reach here: with "+seccomp" exactly when
    libseccomp can build the filter on this machine."""
    from agentkit.sandbox._isolation import seccomp_filter

    return isolation + ("+seccomp" if seccomp_filter() is not None else "")


def has_seccomp(isolation: str) -> bool:
    return (level_for(isolation) or "").endswith("+seccomp")


def require_seccomp(isolation: str, why: str) -> None:
    """Skip (fail when CI is set) unless `isolation` runs agents under seccomp; `why` says what the test
    cannot check without it."""
    from required_tools import require_tool

    require_tool(
        "seccomp (libseccomp2 and pyseccomp)",
        has_seccomp(isolation),
        f"{why}; `make setup` installs both (Debian package 'libseccomp2')",
    )


def live_descendants(roots: list[int]) -> set[int]:
    """Pids of the processes below `roots` (children, grandchildren...) that have not exited."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X"):
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def field_values(request: dict[str, Any], answer: str = "42") -> dict[str, Any]:
    """A well-formed model response: every requested field filled, `answer` fields with `answer`."""
    fields = request.get("fields") or ["answer"]
    values = {f: (answer if "answer" in f else f"some {f}") for f in fields}
    return {"fields": values, "raw": str(values), "parse_error": None}


async def instant_llm(request: dict[str, Any]) -> dict[str, Any]:
    """An LLM handler that answers at once."""
    return field_values(request)


# Agent code used by several tests (ADAS style, so it runs on the real runtime and on the stand-in).
ONE_CALL_AGENT = """
def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = agent([taskInfo], "Think step by step, then answer.")
    return answer.content + "|" + taskInfo.content
"""

NO_CALL_AGENT = """
def forward(self, taskInfo):
    return "echo:" + taskInfo.content
"""
