"""`require_tool` skips a test whose install is missing, but fails it when CI is set: shown on a tiny test
and on the real sandbox fixture, each run by pytest in a child process with bwrap taken off PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CI_FAILURE = "CI is set, so a missing install fails the test instead of skipping it: "

TINY = """
from required_tools import require_executable


def test_needs_bwrap():
    require_executable("bwrap", "the sandbox runs agents in it")


def test_needs_a_tool_nobody_has():
    require_executable("agentkit-no-such-tool", "nothing provides it")
"""


def _path_without(program: str) -> str:
    """PATH with every directory that holds `program` left out."""
    kept = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / program).exists()]
    assert shutil.which(program, path=os.pathsep.join(kept)) is None
    return os.pathsep.join(kept)


def _pytest(*args: str, ci: bool, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = _path_without("bwrap")
    env["PYTHONPATH"] = str(TESTS)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


def test_a_missing_tool_fails_the_test_when_ci_is_set(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(TINY)
    done = _pytest("test_tiny.py", ci=True, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed" in done.stdout
    assert f"{CI_FAILURE}bwrap is missing: the sandbox runs agents in it" in done.stdout
    assert f"{CI_FAILURE}agentkit-no-such-tool is missing: nothing provides it" in done.stdout


def test_a_missing_tool_skips_the_test_without_ci(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(TINY)
    done = _pytest("test_tiny.py", ci=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 skipped" in done.stdout
    assert "bwrap is missing: the sandbox runs agents in it" in done.stdout
    assert CI_FAILURE not in done.stdout


def test_the_sandbox_tests_fail_without_bwrap_when_ci_is_set() -> None:
    test = "tests/sandbox/test_sandbox.py::test_isolation_level_is_said_once[bwrap]"
    done = _pytest(test, ci=True, cwd=REPO)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 error" in done.stdout  # the fixture fails, so pytest reports an error, not a skip
    assert f"{CI_FAILURE}bwrap (bubblewrap) is missing: isolation='bwrap' cannot start" in done.stdout
