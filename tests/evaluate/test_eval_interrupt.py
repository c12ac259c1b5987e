"""Ctrl-C in `agentkit eval`: exit 130 with one line saying what was kept and what to run next (it exited
130 without a word)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ([], "interrupted; run the same command again: the answers already received come from the cache"),
        (
            ["--no-cache"],
            "interrupted; nothing was kept (--no-cache): run the same command again to start over",
        ),
    ],
)
def test_ctrl_c_in_eval_says_what_was_kept(tmp_path: Path, extra: list[str], said: str) -> None:
    with FakeOpenAIServer(latency_s=5.0) as server:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env |= {"AGENTKIT_CACHE_DIR": str(tmp_path / "cache")}
        command = [
            sys.executable, "-m", "agentkit", "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "4",
            "--model", "openai/fake", "--api-base", server.base_url, "--isolation", "process", *extra,
        ]  # fmt: skip
        child = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while not server.requests and time.monotonic() < deadline:
                assert child.poll() is None, child.communicate()[1][-2000:]
                time.sleep(0.02)
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == said
    assert "Traceback" not in err and out == ""
