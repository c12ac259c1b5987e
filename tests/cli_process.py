"""Running the `agentkit` command as a user would: a fresh process, no provider key in its environment,
its own reply cache under the test's directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
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


def _default_sigint() -> None:
    # A shell runs background jobs (a CI step, `make test &`) with SIGINT ignored and children inherit
    # that: Python then installs no Ctrl-C handler, and the command would never see the test's Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_agentkit(
    *args: str, cwd: Path, ready: Callable[[], bool], within_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Start `python -m agentkit ARGS`, press Ctrl-C (SIGINT) once `ready()` says it is mid-way, and
    return how it ended. Fails the test if it exits before that or does not get there in `within_s`."""
    child = subprocess.Popen(
        [sys.executable, "-m", "agentkit", *args],
        cwd=cwd,
        env=agentkit_env(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + within_s
        while not ready():
            assert child.poll() is None, f"it ended first: {child.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, f"not mid-way after {within_s:g} s"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)
