"""Cancelling a search from Python: a caller's cancellation is recorded and raised; a stop request
(Ctrl-C under `run_sync`) returns the interrupted outcome. Either way the archive is consistent and
resumes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, responder

from agentkit.archive import Archive
from agentkit.search import NoHooks, SearchConfig, request_stop, run_search
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    # slow enough that the run is still evaluating when it is cancelled
    with FakeOpenAIServer(responder(AgentWorld(), meta), latency_s=0.05) as srv:
        yield srv


def config(server: FakeOpenAIServer) -> SearchConfig:
    settings: dict[str, Any] = {
        "task": "gen/arithmetic",
        "model": "openai/fake-agent",
        "meta_model": "openai/fake-meta",
        "api_base": server.base_url,
        "generations": 3,
        "search_size": 6,
        "test_size": 3,
        "screen_size": 0,
        "self_review": 1,
        "seeds": ["cot"],
        "sandbox": {"isolation": "process", "workers": 1, "wall_time_s": 5.0},
        "concurrency": 2,
        "cache": False,
        "proposals": "code",
        "ensembles": False,
    }
    return SearchConfig(**settings)


async def started(run_dir: Path, task: asyncio.Task[Any]) -> None:
    """Wait until the run has stored its first proposal (so it is mid-generation)."""
    for _ in range(3000):
        assert not task.done(), task.exception() if not task.cancelled() else "cancelled"
        if (run_dir / "archive.sqlite").exists():
            with Archive.open(run_dir) as archive:
                if archive.events("proposed"):
                    return
        await asyncio.sleep(0.01)
    raise AssertionError("the search stored no proposal in 30 s")


def assert_interrupted(run_dir: Path) -> None:
    with Archive.open(run_dir) as archive:
        assert archive.integrity_check() == []
        assert archive.get_state("status") == "interrupted"
        assert len(archive.events("interrupted")) == 1


async def test_a_cancelled_search_ends_cancelled_records_the_stop_and_resumes(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    run_dir = tmp_path / "run"
    search = asyncio.ensure_future(run_search(config(server), run_dir, hooks=NoHooks()))
    await started(run_dir, search)

    # what a caller's timeout or a task group does: cancel the search task; it must end cancelled
    search.cancel()
    with pytest.raises(asyncio.CancelledError):
        await search
    assert_interrupted(run_dir)
    resumed = await run_search(None, run_dir, resume=True, hooks=NoHooks())
    assert resumed.status == "finished"


async def test_asyncio_timeout_around_a_search_raises_timeout_error(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.5):
            await run_search(config(server), run_dir, hooks=NoHooks())
    assert_interrupted(run_dir)


async def test_a_stop_request_returns_the_interrupted_outcome(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    run_dir = tmp_path / "run"
    search = asyncio.ensure_future(run_search(config(server), run_dir, hooks=NoHooks()))
    await started(run_dir, search)
    request_stop(search)
    outcome = await search
    assert outcome.status == "interrupted"
    assert not search.cancelled()
    assert_interrupted(run_dir)


def test_a_second_ctrl_c_says_what_was_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second Ctrl-C while the search stops interrupts at once (run_sync lets KeyboardInterrupt out):
    the command said nothing and exited 130. Stubbed here (`fake_run_sync`, a test double for the
    timing of two key presses), since the real window is a few milliseconds."""
    import typer

    import agentkit.search
    from agentkit.cli._search import _run

    def fake_run_sync(coro: Any, **_: Any) -> Any:
        coro.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(agentkit.search, "run_sync", fake_run_sync)
    with pytest.raises(typer.Exit) as stop:
        _run(None, tmp_path / "run", resume=True, overrides=None, progress=False, as_json=False)
    assert stop.value.exit_code == 130
    said = capsys.readouterr().err.strip()
    assert said == (
        "interrupted at once (a second Ctrl-C); what was stored is kept: "
        f"continue with: agentkit search --resume {tmp_path / 'run'}"
    )


def test_run_sync_gives_back_a_callers_sigterm_handler() -> None:
    """run_sync stops a search on SIGTERM; afterwards the process's own handler is back (asyncio left
    the default behind)."""
    import signal

    from agentkit.search import run_sync

    def mine(signum: int, frame: Any) -> None:
        return None

    before = signal.signal(signal.SIGTERM, mine)
    try:

        async def nothing() -> int:
            return 7

        assert run_sync(nothing()) == 7
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)
