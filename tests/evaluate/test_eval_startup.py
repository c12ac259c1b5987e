"""`agentkit eval` as a user starts it, in its own process: what it imports and what it sends at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentkit.testing import FakeOpenAIServer


def _agentkit(
    args: list[str], tmp_path: Path, *, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTKIT_CACHE_DIR": str(tmp_path / "cache")}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )


def _imported(importtime_log: str) -> set[str]:
    """Module names from the ``-X importtime`` lines of a process's stderr."""
    names: set[str] = set()
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_eval_against_a_self_hosted_server_never_imports_litellm(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        done = _agentkit(
            [
                "eval",
                *("--agent", "cot", "--task", "gen/arithmetic", "--limit", "4", "--concurrency", "4"),
                *("--no-cache", "--model", "openai/fake", "--api-base", server.base_url, "--json"),
            ],
            tmp_path,
            python_flags=("-X", "importtime"),
        )
        requests = len(server.requests)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["n"] == 4 and requests == 4
    imported = _imported(done.stderr)
    assert "agentkit.llm._plain" in imported  # the log is read right
    # Neither litellm nor aiohttp: a plain http:// server needs neither.
    assert not {name for name in imported if name.split(".")[0] in ("litellm", "aiohttp")}
