"""Ctrl-C in `agentkit eval`: exit 130 with one line saying what was kept and what to run next (it exited
130 without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_process import interrupt_agentkit

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
        done = interrupt_agentkit(
            "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "4", "--model", "openai/fake",
            "--api-base", server.base_url, "--isolation", "process", *extra,
            cwd=tmp_path, ready=lambda: bool(server.requests),
        )  # fmt: skip
    assert done.returncode == 130, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == said
    assert "Traceback" not in done.stderr and done.stdout == ""
