"""Proposals of one generation are stored in slot order, whichever reply comes back first: their ids
are in the next prompts, so a run whose calls were retried or answered in another order must not
renumber them (it would send other prompts, miss the cache and propose other agents)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, is_meta, last_user, responder

from agentkit.archive import Archive
from agentkit.search import SearchConfig, run_search
from agentkit.testing import FakeOpenAIServer, FakeReply

pytestmark = pytest.mark.sandbox


async def test_the_first_slot_gets_the_first_id_even_when_its_reply_comes_last(tmp_path: Path) -> None:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body))
    plain = responder(AgentWorld(), meta)
    arrivals: list[str] = []
    lock = threading.Lock()

    def respond(body: dict[str, Any]) -> FakeReply:
        reply = plain(body)
        if is_meta(body) and "Design the next agent" in last_user(body):
            with lock:
                arrivals.append(last_user(body))
                first = len(arrivals) == 1
            # The first proposal request to arrive is answered last.
            return reply.model_copy(update={"latency_s": 1.5 if first else 0.0})
        return reply

    with FakeOpenAIServer(respond) as server:
        config = SearchConfig(
            task="gen/arithmetic",
            model="openai/fake-agent",
            meta_model="openai/fake-meta",
            api_base=server.base_url,
            generations=1,
            parallel=2,
            search_size=4,
            test_size=2,
            screen_size=0,
            self_review=0,
            debug_attempts=0,
            seeds=["cot", "self_refine"],
            sandbox={"isolation": "process", "workers": 2, "wall_time_s": 30.0},
            cache=False,
            progress=False,
            proposals="code",
            ensembles=False,
            reflect={"reflection": False, "manual": False},
        )
        outcome = await run_search(config, tmp_path / "run")
    assert outcome.status == "finished", outcome.reason
    assert len(arrivals) == 2
    with Archive.open(tmp_path / "run") as archive:
        proposed = [a for a in archive.agents() if a.origin == "meta"]
        log = [e.payload for e in archive.events("proposed")]
    assert [a.meta["slot"] for a in sorted(proposed, key=lambda a: a.id)] == [0, 1]
    assert [p["slot"] for p in log] == [0, 1]
