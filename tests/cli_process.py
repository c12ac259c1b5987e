"""Running the `agentkit` command as a user would: a fresh process, no provider key in its environment,
its own reply cache under the test's directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def agentkit_env(cwd: Path) -> dict[str, str]:
    """This process's environment without provider keys, with the reply cache under `cwd`."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return env | {"AGENTKIT_CACHE_DIR": str(cwd / "cache"), "PYTHONPATH": str(REPO)}


def run_agentkit(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`python -m agentkit ARGS` in `cwd`, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=agentkit_env(cwd),
        timeout=timeout,
    )
