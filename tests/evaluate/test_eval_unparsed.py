"""`agentkit eval` says when model replies were not in the form the agent asked for (the agent then saw
empty fields, which the table alone shows only as wrong answers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_process import run_agentkit

from agentkit.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.sandbox
def test_replies_that_do_not_parse_are_counted_and_the_first_is_shown(tmp_path: Path) -> None:
    replies = iter(
        ['{"thinking": "ok", "answer": "4"}', "not JSON at all", '{"thinking": "x", "answer": "5"}']
    )
    with FakeOpenAIServer(lambda body: next(replies, "{}")) as server:
        done = run_agentkit(
            "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "3", "--concurrency", "1",
            "--model", "openai/fake", "--api-base", server.base_url, "--no-cache", "--isolation", "process",
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if "not in the form asked for" in x)
    assert line.startswith("1 of 3 model replies (in 1 example(s)) were not in the form asked for; first: ")
    assert "reply has no JSON object" in line


@pytest.mark.sandbox
def test_a_rerun_from_the_cache_says_its_calls_were_not_billed(tmp_path: Path) -> None:
    """Run again, every reply comes from the cache: the $0 is explained, not read as free calls (the
    uncached run of the same unpriced model shows n/a)."""
    with FakeOpenAIServer() as server:
        args = (
            "eval",
            "--agent",
            "cot",
            "--task",
            "gen/arithmetic",
            "--limit",
            "3",
            "--model",
            "openai/fake",
        )
        first = run_agentkit(*args, "--api-base", server.base_url, "--isolation", "process", cwd=tmp_path)
        again = run_agentkit(*args, "--api-base", server.base_url, "--isolation", "process", cwd=tmp_path)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert "from the cache" not in first.stdout
    assert "3 (3 from the cache, not billed)" in again.stdout
