"""Kill the search process mid-generation (SIGKILL, and Ctrl-C), resume it, and check that nothing
finished was lost or run again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from search_scripted import (
    MARKER,
    QUESTION,
    AgentWorld,
    ScriptedMeta,
    hashed_meta_reply,
    is_meta,
    responder,
)
from search_scripted import all_text as request_text

from agentkit.archive import Archive
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]
GENERATIONS = 3


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    # Agent calls take a little while, so an evaluation is still running when the test kills it.
    with FakeOpenAIServer(responder(AgentWorld(), meta), latency_s=0.08) as srv:
        yield srv


def command(server: FakeOpenAIServer, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "agentkit",
        "search",
        *extra,
        "--no-progress",
        "--json",
    ] + (
        [
            "--task",
            "gen/arithmetic",
            "--model",
            "openai/fake-agent",
            "--meta-model",
            "openai/fake-meta",
            "--api-base",
            server.base_url,
            "--generations",
            str(GENERATIONS),
            "--search-size",
            "6",
            "--test-size",
            "3",
            "--screen-size",
            "0",
            "--parallel",
            "2",
            "--self-review",
            "1",
            "--seeds",
            "cot",
            "--isolation",
            "process",
            "--workers",
            "2",
            "--concurrency",
            "2",
            "--no-cache",
            "--no-reflection",
            "--no-manual",
            # The scripted meta agent writes code; workflows and ensembles are tested on their own.
            "--proposals",
            "code",
            "--no-ensembles",
            "--out",
            str(run_dir),
        ]
        if "--resume" not in extra
        else []
    )


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


def agent_requests(server: FakeOpenAIServer, start: int = 0) -> list[tuple[str | None, str]]:
    """(marker, question) of every agent request from index `start` on."""
    found = []
    for body in server.requests[start:]:
        if is_meta(body):
            continue
        text = request_text(body)
        marker = MARKER.search(text)
        question = QUESTION.search(text)
        found.append((marker.group(1) if marker else None, question.group(1).strip() if question else ""))
    return found


def run_to_end(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_sigkill_mid_generation_then_resume_loses_and_repeats_nothing(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    env = child_env(tmp_path)

    # The reference: the same search, uninterrupted.
    reference = run_to_end(command(server, tmp_path / "reference"), env)
    assert reference["status"] == "finished"
    server.reset()

    run_dir = tmp_path / "killed"
    db = run_dir / "archive.sqlite"
    child = subprocess.Popen(
        command(server, run_dir), env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        # Kill once a generation-2 candidate has some, but not all, of its search results stored.
        while time.monotonic() < deadline:
            partial = rows(
                db,
                "SELECT a.id, COUNT(r.id) FROM agents a JOIN results r ON r.agent_id = a.id"
                " WHERE a.generation = 2 AND r.split = 'search' GROUP BY a.id HAVING COUNT(r.id) < 6",
            )
            if partial:
                break
            assert child.poll() is None, child.communicate()[1][-3000:]
            time.sleep(0.01)
        else:
            pytest.fail("the search never reached generation 2")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        assert archive.get_state("phase") == "search"
        agents_before = {a.id: a for a in archive.agents()}
        stored = {
            (a.id, r.example_id): r for a in agents_before.values() for r in archive.results(a.id, "search")
        }
        generation_before = archive.get_state("generations_done")
    assert generation_before == 1
    assert stored
    # `show` says the run stopped unfinished and how to go on (it printed a normal-looking table).
    shown = subprocess.run(
        [sys.executable, "-m", "agentkit", "show", str(run_dir)], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(
        "this search stopped without finishing (killed, or its machine went down); "
        f"continue with: agentkit search --resume {run_dir}"
    )

    resume_from = len(server.requests)
    resumed = run_to_end(command(server, run_dir, "--resume", str(run_dir)), env)
    assert resumed["status"] == "finished"
    assert resumed["generations_done"] == GENERATIONS

    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        after = {a.id: a for a in archive.agents()}
        # Nothing finished was lost: every agent and stored result is still there, unchanged.
        assert set(agents_before) <= set(after)
        for (agent_id, example_id), result in stored.items():
            again = {r.example_id: r for r in archive.results(agent_id, "search")}[example_id]
            assert again.answer == result.answer and again.score == result.score
        # ... and nothing finished was run again: no agent request for a stored (agent, question) pair.
        questions = {e.id: e.input for e in _search_examples(archive)}
        markers = {a.id: _marker(a.code) for a in after.values()}
        repeated = []
        after_resume = agent_requests(server, resume_from)
        for agent_id, example_id in stored:
            question = QUESTION.search(questions[example_id])
            assert question is not None
            key = (markers[agent_id], question.group(1).strip())
            if markers[agent_id] is not None and key in after_resume:
                repeated.append(key)
        assert repeated == []
        assert archive.get_state("status") == "finished"
        assert len(archive.events("session_start")) == 2
    assert resumed["agents"] == reference["agents"]


def _marker(code: str) -> str | None:
    match = MARKER.search(code)
    return match.group(1) if match else None


def _search_examples(archive: Archive) -> list[Any]:
    from agentkit.search import SearchConfig, load_search_task

    config = SearchConfig.model_validate(archive.config["search"])
    return list(load_search_task(config)[1].search)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_ctrl_c_or_sigterm_stops_cleanly_and_resumes(
    tmp_path: Path, server: FakeOpenAIServer, signum: int, code: int
) -> None:
    """SIGTERM (what `timeout`, `docker stop` and Slurm send) stops a search as Ctrl-C does; it used to
    end the process on the spot, leaving the run marked as running."""
    env = child_env(tmp_path)
    run_dir = tmp_path / "run"
    db = run_dir / "archive.sqlite"
    child = subprocess.Popen(
        command(server, run_dir), env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if rows(db, "SELECT 1 FROM events WHERE kind = 'proposed'"):
                break
            assert child.poll() is None, child.communicate()[1][-3000:]
            time.sleep(0.01)
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == code, err[-3000:]
    assert f"continue with: agentkit search --resume {run_dir}" in out.decode()
    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        assert archive.get_state("status") == "interrupted"
        assert len(archive.events("interrupted")) == 1
    resumed = run_to_end(command(server, run_dir, "--resume", str(run_dir)), env)
    assert resumed["status"] == "finished"


def test_a_resume_says_which_settings_it_changes(tmp_path: Path, server: FakeOpenAIServer) -> None:
    """Changed settings were taken in silence (the stored configuration then showed only the new
    values); fewer generations than are done ran nothing more without a word."""
    env = child_env(tmp_path)
    run_dir = tmp_path / "run"
    assert run_to_end(command(server, run_dir), env)["status"] == "finished"
    again = subprocess.run(
        command(server, run_dir, "--resume", str(run_dir), "--generations", "2", "--concurrency", "3"),
        env=env, capture_output=True, text=True, timeout=240, cwd=REPO,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert (
        f"resuming {run_dir} with changed settings: concurrency 2 -> 3, generations {GENERATIONS} -> 2 "
        f"({GENERATIONS} generation(s) are done already: no further one will run)"
    ) in again.stderr
    # The same settings again: nothing to say.
    same = subprocess.run(
        command(server, run_dir, "--resume", str(run_dir), "--concurrency", "3"),
        env=env, capture_output=True, text=True, timeout=240, cwd=REPO,
    )  # fmt: skip
    assert same.returncode == 0, same.stderr[-3000:]
    assert "changed settings" not in same.stderr
