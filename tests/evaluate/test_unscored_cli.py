"""`agentkit eval` and `bench` when the provider fails: a missing key stops them before anything runs,
and examples the provider failed leave them with a non-zero exit and a way to go on, never a 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from agentkit.cli._unscored import UNSCORED_EXIT
from agentkit.testing import FakeOpenAIServer, Fault

pytestmark = pytest.mark.sandbox

_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")


def _agentkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _KEYS} | {"AGENTKIT_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


def test_a_missing_key_stops_eval_with_one_message(tmp_path: Path) -> None:
    out = _agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "2",
        "--model", "anthropic/claude-3-5-haiku-latest",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "ANTHROPIC_API_KEY" in lines[0] and "anthropic/claude-3-5-haiku-latest" in lines[0]
    assert "accuracy" not in out.stdout and out.stdout.strip() == ""  # no results table
    assert not (tmp_path / "cache").exists()  # nothing was sent, nothing cached


def test_a_missing_key_stops_bench(tmp_path: Path) -> None:
    out = _agentkit(
        "bench", "--task", "gen/arithmetic", "--agents", "cot", "--limit", "2", "--model", "openai/gpt-4o-mini",
        "--out", str(tmp_path / "bench"),
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode != 0 and "OPENAI_API_KEY" in out.stderr
    assert not (tmp_path / "bench").exists()


def _eval(server: FakeOpenAIServer, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", server.base_url, "--limit", "4", "--example-timeout", "3", *extra,
        cwd=tmp_path,
    )  # fmt: skip


def test_eval_with_the_provider_down_exits_non_zero_then_a_rerun_finishes(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    arithmetic_server.set_down(Fault.status(503))
    out = _eval(arithmetic_server, tmp_path)
    assert out.returncode == UNSCORED_EXIT, out.stderr
    assert "4 of 4 example(s) left unscored" in out.stderr
    assert "Run the same command again" in out.stderr
    assert "accuracy" not in out.stdout  # nothing was scored: no table of zeros
    assert "there is no score to show" in out.stderr and "scores above" not in out.stderr
    assert "(last: HTTPStatusError: HTTP 503" in out.stderr  # what the provider said
    arithmetic_server.set_up()
    again = _eval(arithmetic_server, tmp_path, "--json")
    assert again.returncode == 0, again.stderr
    payload = json.loads(again.stdout)
    assert payload["accuracy"] == 1.0 and payload["unscored"] == 0


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_eval_at_once_with_one_message(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path, status: int
) -> None:
    arithmetic_server.set_down(Fault.status(status))
    out = _eval(arithmetic_server, tmp_path, "--concurrency", "2")
    assert out.returncode not in (0, UNSCORED_EXIT), out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "openai/fake" in lines[0] and str(status) in lines[0] and "credentials" in lines[0]
    assert out.stdout.strip() == ""  # no results table
    assert "unscored" not in out.stderr
    assert len(arithmetic_server.requests) <= 2  # not retried; later calls refused without asking


def test_refused_credentials_stop_bench_and_nothing_is_stored(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    arithmetic_server.set_down(Fault.status(401))
    out = _agentkit(
        "bench", "--task", "gen/arithmetic", "--agents", "cot,step_back", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "4", "--out", str(tmp_path / "bench"),
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode not in (0, UNSCORED_EXIT) and "credentials" in out.stderr, out.stderr
    assert not (tmp_path / "bench").exists()


def test_an_outage_pauses_eval_which_finishes_when_the_provider_is_back(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    arithmetic_server.set_down(Fault.status(503))
    during: list[int] = []

    def back() -> None:
        during.append(len(arithmetic_server.requests))
        arithmetic_server.set_up()

    timer = threading.Timer(8.0, back)
    timer.start()
    try:
        out = _agentkit(
            "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
            "--api-base", arithmetic_server.base_url, "--limit", "4", "--concurrency", "4",
            "--example-timeout", "120", "--json",
            cwd=tmp_path,
        )  # fmt: skip
    finally:
        timer.cancel()
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert (payload["accuracy"], payload["unscored"], payload["error_rate"]) == (1.0, 0, 0.0)
    assert "model openai/fake not answering" in out.stderr and "pausing 4s" in out.stderr
    assert "last: HTTPStatusError: HTTP 503" in out.stderr, out.stderr
    assert "answers again" in out.stderr
    # Four first attempts, a retry or so each until five failures opened the breaker, then one probe per
    # pause (4 s, then 8 s): without the breaker each call retries on its backoff for the whole outage.
    assert during and during[0] <= 12, during


def test_eval_scores_what_it_can_and_reports_the_rest(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    solve = arithmetic_server.responder
    assert solve is not None
    asked: list[str] = []

    def first_question_fails(body: dict[str, Any]) -> Any:
        question = str(body["messages"][-1]["content"])
        if not asked or question == asked[0]:
            asked[:1] = [question]
            raise RuntimeError("this one keeps failing")
        return solve(body)

    arithmetic_server.responder = first_question_fails
    out = _eval(arithmetic_server, tmp_path, "--json", "--concurrency", "1")
    assert out.returncode == UNSCORED_EXIT, out.stderr
    payload = json.loads(out.stdout)
    assert (payload["n"], payload["unscored"], payload["accuracy"], payload["error_rate"]) == (4, 1, 1.0, 0.0)
    unscored = [r for r in payload["results"] if r["unscored"]]
    assert len(unscored) == 1 and unscored[0]["error"]["kind"] == "provider"
    assert "1 of 4 example(s) left unscored" in out.stderr
    assert "the scores above leave them out" in out.stderr


def test_bench_with_examples_unscored_exits_non_zero(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    arithmetic_server.inject(*[Fault.status(402)] * 2)
    out = _agentkit(
        "bench", "--task", "gen/arithmetic", "--agents", "cot", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "4", "--concurrency", "1",
        "--out", str(tmp_path / "bench"), "--no-cache",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == UNSCORED_EXIT, out.stderr
    assert "2 of 4 example(s) left unscored" in out.stderr and "402" in out.stderr
    saved = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert saved["agents"][0]["unscored"] == 2 and saved["agents"][0]["accuracy"] == 1.0


def test_a_missing_key_stops_search_before_the_run_exists(tmp_path: Path) -> None:
    out = _agentkit(
        "search", "--task", "gen/arithmetic", "--model", "local", "--meta-model", "anthropic/claude-3-5-haiku-latest",
        "--generations", "1", "--out", str(tmp_path / "run"),
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode != 0
    assert "ANTHROPIC_API_KEY" in out.stderr and "anthropic/claude-3-5-haiku-latest" in out.stderr
    assert not (tmp_path / "run").exists()


def test_bench_over_tasks_with_examples_unscored_exits_non_zero(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    arithmetic_server.inject(*[Fault.status(402)] * 2)
    out = _agentkit(
        "bench", "--tasks", "gen/arithmetic", "--agents", "cot", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "4", "--concurrency", "1",
        "--out", str(tmp_path / "bench"), "--no-cache", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == UNSCORED_EXIT, out.stderr
    assert "2 of 4 example(s) left unscored" in out.stderr


async def test_bench_compares_agents_on_the_examples_both_have_scores_for(
    arithmetic_server: FakeOpenAIServer,
) -> None:
    from agentkit.evaluate import Session, bench, resolve_agent
    from agentkit.tasks import load_task
    from agentkit.testing import model_config_for

    task = load_task("gen/arithmetic")
    model = model_config_for(arithmetic_server, timeout_s=5.0, retry_for_s=0.5, retry_base_s=0.01)
    async with Session.open(model, isolation="trusted", cache=False, workers=1) as s:
        arithmetic_server.inject(Fault.status(402))
        table = await bench(
            [resolve_agent("cot"), resolve_agent("step_back")], [task], limit=6, concurrency=1,
            client=s.client, model=s.model, runner=s.runner,
        )  # fmt: skip
    rows = {row.agent: row for row in table.tasks[0].rows}
    assert sum(row.summary.unscored for row in rows.values()) == 1
    other = next(row for row in rows.values() if row.vs_baseline is not None)
    assert other.vs_baseline is not None and other.vs_baseline.n == 5  # the unscored pair is left out
