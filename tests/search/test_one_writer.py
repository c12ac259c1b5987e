"""One run, one writer, with real `agentkit search` processes against the fake server: a second search on a
run that is being searched is refused with the holder's details; readers keep working and say the run is
in progress; a SIGKILLed search leaves no stale lock; and a kill during the final sealed-test scoring,
then `--resume`, finishes the test scoring without running a finished example again."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from search_scripted import MARKER, QUESTION, AgentWorld, ScriptedMeta, hashed_meta_reply, is_meta, responder
from search_scripted import all_text as request_text

from agentkit.archive import Archive
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    # Agent calls take a little while, so the search is still running when the test acts on it.
    with FakeOpenAIServer(responder(AgentWorld(), meta), latency_s=0.08) as srv:
        yield srv


def search_args(server: FakeOpenAIServer, run_dir: Path, *, generations: int, test_size: int) -> list[str]:
    return [
        "--task", "gen/arithmetic",
        "--model", "openai/fake-agent",
        "--meta-model", "openai/fake-meta",
        "--api-base", server.base_url,
        "--generations", str(generations),
        "--search-size", "6",
        "--test-size", str(test_size),
        "--top-k", "3",
        "--screen-size", "0",
        "--parallel", "2",
        "--self-review", "1",
        "--seeds", "cot",
        "--isolation", "process",
        "--workers", "2",
        "--concurrency", "2",
        "--no-cache",
        "--no-reflection",
        "--no-manual",
        "--out", str(run_dir),
    ]  # fmt: skip


def agentkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentkit", *args]


def resume(run_dir: Path) -> list[str]:
    return agentkit("search", "--resume", str(run_dir), "--no-progress", "--json")


def child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTKIT_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(REPO)
    return env


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return []
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # the schema is not there yet
    finally:
        conn.close()


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, cwd=REPO)


def wait_for(child: subprocess.Popen[bytes], what: str, check: Any, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        assert child.poll() is None, child.communicate()[1][-3000:]
        time.sleep(0.01)
    pytest.fail(f"the search never reached {what}")


def kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def test_second_search_on_a_running_run_is_refused_until_the_first_dies(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    env = child_env(tmp_path)
    run_dir = tmp_path / "run"
    db = run_dir / "archive.sqlite"
    first = subprocess.Popen(
        agentkit(
            "search", "--no-progress", "--json", *search_args(server, run_dir, generations=2, test_size=3)
        ),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(first, "its first evaluation", lambda: rows(db, "SELECT 1 FROM results LIMIT 1"))
        server.latency_s = 1.0  # slow the search down: it must still be running while the test acts

        # A second writer, as a resume from another terminal (or a cron job): refused, naming the holder.
        second = run(resume(run_dir), env)
        assert second.returncode != 0
        assert f"pid {first.pid}" in second.stderr and socket.gethostname() in second.stderr
        assert "search" in second.stderr and "--out" in second.stderr  # the holder's command line
        assert " since 20" in second.stderr
        # The same for a new search into the same directory.
        again = run(
            agentkit("search", "--no-progress", *search_args(server, run_dir, generations=2, test_size=3)),
            env,
        )
        assert again.returncode != 0

        # Readers keep working and say the run is in progress.
        shown = run(agentkit("show", str(run_dir), "--json"), env)
        assert shown.returncode == 0, shown.stderr
        holder = json.loads(shown.stdout)["in_progress"]
        assert holder["pid"] == first.pid and holder["host"] == socket.gethostname()
        assert "search" in holder["command"] and holder["since"]
        table = run(agentkit("show", str(run_dir)), env | {"COLUMNS": "200"})
        assert table.returncode == 0, table.stderr
        assert f"run in progress: held by pid {first.pid} on {socket.gethostname()} since" in table.stdout
        report = run(agentkit("report", str(run_dir)), env)
        assert report.returncode == 0, report.stderr
        assert f"held by pid {first.pid}" in (run_dir / "report.html").read_text()
        assert first.poll() is None  # the refused writers did not disturb the search

        kill(first)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    server.latency_s = 0.02

    # The kernel released the dead search's lock: a resume starts at once and finishes the run.
    started = time.monotonic()
    resumed = run(resume(run_dir), env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["status"] == "finished"
    assert time.monotonic() - started < 240
    shown = run(agentkit("show", str(run_dir), "--json"), env)
    assert json.loads(shown.stdout)["in_progress"] is None
    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        assert len(archive.events("session_start")) == 2  # one per writer that ran: none for the refused


def test_kill_during_final_test_scoring_then_resume_reruns_nothing_finished(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    env = child_env(tmp_path)
    run_dir = tmp_path / "run"
    db = run_dir / "archive.sqlite"
    test_size = 8
    child = subprocess.Popen(
        agentkit(
            "search",
            "--no-progress",
            "--json",
            *search_args(server, run_dir, generations=1, test_size=test_size),
        ),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Kill once some, but not all, test results of the finalists are stored.
        wait_for(
            child,
            "the final test scoring",
            lambda: 0 < len(rows(db, "SELECT 1 FROM results WHERE split = 'test'")) < test_size * 2,
        )
        kill(child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        assert archive.get_state("phase") == "final"
        agents = {a.id: a for a in archive.agents()}
        stored = {(a, r.example_id) for a in agents for r in archive.results(a, "test")}
        search_before = {(a, r.example_id) for a in agents for r in archive.results(a, "search")}
    assert stored

    resume_from = len(server.requests)
    resumed = run(resume(run_dir), env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    outcome = json.loads(resumed.stdout)
    assert outcome["status"] == "finished" and outcome["selected"] is not None

    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        assert archive.get_state("phase") == "done"
        # No duplicated result row, and every finalist scored on exactly the test split's size.
        assert (
            rows(
                db,
                "SELECT agent_id, split, example_id, COUNT(*) FROM results GROUP BY 1, 2, 3 HAVING COUNT(*) > 1",
            )
            == []
        )
        scored = [a for a in archive.agents() if a.test_summary is not None]
        assert 1 <= len(scored) <= 3
        for agent in scored:
            assert len(archive.results(agent.id, "test")) == test_size
            assert agent.test_summary is not None and agent.test_summary.n == test_size
        calls = {(a.id, r.example_id): r.llm_calls for a in scored for r in archive.results(a.id, "test")}
        after = set(calls)
        assert stored <= after
        # The search itself was over: the resume added no search result and no agent.
        assert {(a, r.example_id) for a in agents for r in archive.results(a, "search")} == search_before
        assert {a.id for a in archive.agents()} == set(agents)
        questions = {e.id: _question(e.input) for e in _test_examples(archive)}
        markers = {a.id: _marker(a.code) for a in archive.agents()}

    # Nothing finished was run again: after the resume, each test question was sent to the model exactly
    # as often as the test results missing for it needed (their recorded calls); a stored (agent,
    # question) run again would show as extra requests. (Counted by question: one agent's calls may not
    # all carry its marker, e.g. a router's choice between solvers.)
    expected: Counter[str] = Counter()
    for agent_id, example_id in after - stored:
        expected[questions[example_id]] += calls[(agent_id, example_id)]
    asked = Counter(_question(request_text(b)) for b in server.requests[resume_from:] if not is_meta(b))
    assert asked == expected
    assert sum(expected.values()) >= len(after - stored) > 0
    # The stored ones, by their agent's marker where it has one, were not asked at all after the resume
    # unless another agent with the same marker still needed that question.
    needed = {(markers[a], questions[e]) for a, e in after - stored}
    marked = {
        (_marker(request_text(b)), _question(request_text(b)))
        for b in server.requests[resume_from:]
        if not is_meta(b)
    }
    for agent_id, example_id in stored:
        key = (markers[agent_id], questions[example_id])
        if key[0] is not None and key not in needed:
            assert key not in marked, key


def _question(text: str) -> str:
    match = QUESTION.search(text)
    assert match is not None, text[-300:]
    return match.group(1).strip()


def _marker(code: str) -> str | None:
    match = MARKER.search(code)
    return match.group(1) if match else None


def _test_examples(archive: Archive) -> list[Any]:
    from agentkit.search import SearchConfig, load_search_task

    config = SearchConfig.model_validate(archive.config["search"])
    return list(load_search_task(config)[1].load_sealed_test(confirm="test"))
