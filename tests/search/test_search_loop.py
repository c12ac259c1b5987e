"""Whole searches against the real fake HTTP server with a scripted meta agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from search_scripted import (
    AgentWorld,
    ScriptedMeta,
    agent_code,
    broken_code,
    code_marker,
    hanging_code,
    is_meta,
    marker,
    proposal,
    question,
    question_of,
    responder,
)

from agentkit.archive import Archive
from agentkit.search import (
    CandidateOutcome,
    NoHooks,
    SearchConfig,
    SearchContext,
    load_search_task,
    run_search,
)
from agentkit.testing import FakeOpenAIServer, Fault

pytestmark = pytest.mark.sandbox

GOOD = agent_code("ALPHA")
# The same program with comments, a docstring and other layout: a duplicate by normalised code.
DUPLICATE = '"""A brand new idea (it is not)."""\n\n' + GOOD.replace(
    "    return answer\n", "\n    # hand back the answer\n    return   answer\n"
)
FIXED = agent_code("BETAFIX")


def scripted_propose(index: int, body: dict[str, Any]) -> str:
    script = [
        proposal("Alpha solver", GOOD, "Compute carefully in one call."),
        proposal("Beta broken", broken_code("boom-beta"), "An idea with a bug."),
        proposal("Alpha again", DUPLICATE, "Looks new, is not."),
        proposal("Gamma hanger", hanging_code(0), "Think forever."),
    ]
    return script[min(index, len(script) - 1)]


def scripted_fix(body: dict[str, Any]) -> str:
    text = "\n".join(str(m.get("content", "")) for m in body["messages"])
    if "boom-beta" in text.split("did not work")[-1]:
        return proposal("Beta fixed", FIXED, "Removed the raise.")
    return proposal("Gamma still hanging", hanging_code(1), "Tried to stop the loop.")


@pytest.fixture
def world() -> AgentWorld:
    return AgentWorld({"ALPHA": lambda q: True, "BETAFIX": lambda q: True})


@pytest.fixture
def server(world: AgentWorld) -> Iterator[tuple[FakeOpenAIServer, ScriptedMeta]]:
    meta = ScriptedMeta(scripted_propose, scripted_fix)
    with FakeOpenAIServer(responder(world, meta)) as srv:
        yield srv, meta


def base_config(server: FakeOpenAIServer, **changes: Any) -> SearchConfig:
    settings: dict[str, Any] = {
        "task": "gen/arithmetic",
        "model": "openai/fake-agent",
        "meta_model": "openai/fake-meta",
        "api_base": server.base_url,
        "generations": 4,
        "search_size": 6,
        "test_size": 4,
        "screen_size": 2,
        "parallel": 1,
        "self_review": 1,
        "debug_attempts": 1,
        "seeds": ["cot"],
        "sandbox": {"isolation": "process", "workers": 2, "wall_time_s": 1.0},
        "concurrency": 4,
        "cache": False,
        "top_k": 2,
        "model_timeout_s": 10.0,
        # These tests script code proposals; workflow proposals and ensembles have tests of their own.
        "proposals": "code",
        "ensembles": False,
    }
    settings.update(changes)
    return SearchConfig(**settings)


async def test_full_search_stores_good_broken_duplicate_and_hanging_agents(
    tmp_path: Path, server: tuple[FakeOpenAIServer, ScriptedMeta]
) -> None:
    srv, meta = server
    config = base_config(srv)
    outcome = await run_search(config, tmp_path / "run")
    assert outcome.status == "finished", outcome.reason
    assert outcome.generations_done == 4

    with Archive.open(tmp_path / "run") as archive:
        assert archive.integrity_check() == []
        agents = {a.name: a for a in archive.agents()}
        seed = next(a for a in agents.values() if a.origin == "seed")
        assert seed.status == "evaluated" and seed.generation == 0
        assert seed.search_summary is not None and seed.search_summary.error_rate == 0.0

        alpha = agents["Alpha solver"]
        assert alpha.status == "evaluated" and alpha.generation == 1
        assert alpha.search_summary is not None and alpha.search_summary.accuracy.mean == 1.0
        assert alpha.parents == [seed.id]
        assert [r.kind for r in archive.reviews(alpha.id)] == ["review"]

        # The broken agent ran, failed with its exception, and the fix it got was evaluated too.
        beta = agents["Beta broken"]
        assert beta.status in ("screened", "evaluated")
        errors = [r.error for r in archive.results(beta.id, "search")]
        assert errors and all(
            e is not None and e.kind == "exception" and "boom-beta" in e.message for e in errors
        )
        fixed = agents["Beta fixed"]
        assert fixed.meta["fix_of"] == beta.id and fixed.meta["attempt"] == 1
        assert fixed.parents == beta.parents
        assert fixed.status == "evaluated" and fixed.search_summary is not None
        assert fixed.search_summary.accuracy.mean == 1.0
        debug = [r for r in archive.reviews(fixed.id) if r.kind == "debug"]
        assert len(debug) == 1 and debug[0].error_shown is not None and "boom-beta" in debug[0].error_shown

        # The duplicate was rejected before running anything.
        dup = agents["Alpha again"]
        assert dup.status == "failed" and dup.meta["duplicate_of"] == alpha.id
        assert archive.results(dup.id, "search") == []
        assert [e.payload["of"] for e in archive.events("duplicate")] == [alpha.id]

        # The hanging agent hit the wall-time limit on the screening subset and stopped there; its
        # (still hanging) fix was evaluated as the last attempt and the slot ended.
        for name in ("Gamma hanger", "Gamma still hanging"):
            hang = agents[name]
            assert hang.status == "screened", name
            kinds = {r.error.kind for r in archive.results(hang.id, "search") if r.error}
            assert kinds == {"timeout"}
            assert len(archive.results(hang.id, "search")) == config.screen_size
        assert agents["Gamma still hanging"].meta["fix_of"] == agents["Gamma hanger"].id
        assert len(meta.fixes) == 2  # one for the broken agent, one for the hanging one; none for the rest

        # Selection was logged with a random-partner control each generation.
        selections = archive.events("selection")
        assert len(selections) == 4
        assert all("control_partner" in e.payload and "partner_gain" in e.payload for e in selections)

        # Only the top agents by search score were scored on the test split, and the best seed (the
        # selected agent is compared with it on the same questions); alpha was selected.
        tested = [a for a in archive.agents() if a.test_summary is not None]
        assert {a.id for a in tested} == {alpha.id, fixed.id, seed.id}
        final = archive.get_state("final_summary")
        assert final["selected"]["id"] == alpha.id
        assert "search split" in final["reason"] and "test split played no part" in final["reason"]
        assert archive.get_state("status") == "finished"
        assert len(list((archive.run_dir / "agents").glob("*.py"))) == len(agents)

    assert outcome.selected is not None and outcome.selected.id == alpha.id
    # The meta agent used the meta model, agents the agent model.
    models = {(is_meta(r), r["model"]) for r in srv.requests}
    assert models == {(True, "fake-meta"), (False, "fake-agent")}


# 11 calls run out in the middle of an agent's evaluation, 14 at a meta agent call.
@pytest.mark.parametrize("limit", [11, 14])
async def test_budget_stops_the_run_cleanly_at_the_limit(
    tmp_path: Path, server: tuple[FakeOpenAIServer, ScriptedMeta], limit: int
) -> None:
    srv, _ = server
    config = base_config(srv, budget={"max_calls": limit}, generations=6)
    outcome = await run_search(config, tmp_path / "run")
    assert outcome.status == "budget_exhausted"
    assert len(srv.requests) <= limit
    assert outcome.spent["calls"] == len(srv.requests)
    with Archive.open(tmp_path / "run") as archive:
        assert archive.integrity_check() == []
        assert archive.get_state("status") == "budget_exhausted"
        assert len(archive.events("budget_exhausted")) == 1
        # No result damaged by the budget was stored, and every scored agent has its summary.
        for agent in archive.agents():
            for result in archive.results(agent.id, "search"):
                assert result.error is None or "Budget" not in result.error.message
            if agent.status in ("screened", "evaluated"):
                assert agent.search_summary is not None
        assert sum(u.calls for u in archive.usage()) == len(srv.requests)
        stored = {(a.id, r.example_id) for a in archive.agents() for r in archive.results(a.id, "search")}
        if limit == 11:
            # The budget ran out during the first candidate's evaluation: it is still pending.
            pending = [a for a in archive.agents() if a.status == "proposed"]
            assert len(pending) == 1 and 0 < len(archive.results(pending[0].id, "search")) < 6

    # Resuming with a larger budget finishes the run, spending only what was left to do.
    before = len(srv.requests)
    resumed = await run_search(None, tmp_path / "run", resume=True, overrides={"budget_calls": 1000})
    assert resumed.status == "finished", resumed.reason
    assert resumed.generations_done == 6
    assert resumed.spent["calls"] == len(srv.requests)
    # the fake models have no price: no call's cost is known, across both sessions, and the run says so
    assert resumed.spent["unpriced_calls"] == resumed.spent["calls"] and resumed.spent["cost_usd"] == 0.0
    assert len(srv.requests) > before
    with Archive.open(tmp_path / "run") as archive:
        # What was stored before the stop was kept, not run again.
        for agent_id, example_id in stored:
            assert any(r.example_id == example_id for r in archive.results(agent_id, "search"))
        asked_again = {(marker(r), question(r)) for r in srv.requests[before:] if not is_meta(r)}
        examples = {e.id: e.input for e in load_search_task(config)[1].search}
        for agent_id, example_id in stored:
            key = (code_marker(archive.agent(agent_id).code), question_of(examples[example_id]))
            assert key not in asked_again, key


async def test_a_failed_meta_call_is_recorded_and_the_search_goes_on(
    tmp_path: Path, server: tuple[FakeOpenAIServer, ScriptedMeta]
) -> None:
    srv, _ = server
    # No seeds: the first request is the first proposal, and the provider refuses it for good (402: no
    # quota left for this request; refused credentials would stop the search instead).
    srv.inject(Fault.status(402))
    config = base_config(srv, seeds=[], generations=1, top_k=1)
    outcome = await run_search(config, tmp_path / "run")
    assert outcome.status == "finished", outcome.reason
    with Archive.open(tmp_path / "run") as archive:
        first, fix = archive.agents()
        assert first.status == "failed" and "model call failed" in first.meta["failure"]
        assert first.parents == []
        # The fix request got the scripted good agent, which was evaluated and selected.
        assert fix.meta["fix_of"] == first.id and fix.status == "evaluated"
        assert archive.get_state("final_summary")["selected"]["id"] == fix.id


class _Killed(BaseException):
    """Not an Exception: passes the hooks' failure policy, as a process killed mid-hook would stop."""


class _Recorder(NoHooks):
    """Records after_evaluation calls; with `crash_on_candidate`, the first one for a proposed agent
    dies half way, as a process killed during reflection would."""

    def __init__(self, crash_on_candidate: bool = False) -> None:
        self.seen: list[str] = []
        self.crash = crash_on_candidate

    async def after_evaluation(self, ctx: SearchContext, candidate: CandidateOutcome) -> None:
        self.seen.append(candidate.agent_id)
        if self.crash and candidate.parents:
            raise _Killed("killed while reflecting")


async def test_a_candidate_evaluated_before_a_stop_still_gets_its_hooks_on_resume(
    tmp_path: Path, server: tuple[FakeOpenAIServer, ScriptedMeta]
) -> None:
    srv, _ = server
    config = base_config(srv, generations=1, debug_attempts=0, self_review=0)
    first = _Recorder(crash_on_candidate=True)
    with pytest.raises(_Killed, match="killed while reflecting"):
        await run_search(config, tmp_path / "run", hooks=first)
    candidate = first.seen[-1]
    with Archive.open(tmp_path / "run") as archive:
        assert archive.agent(candidate).status in ("screened", "evaluated")

    again = _Recorder()
    outcome = await run_search(None, tmp_path / "run", resume=True, hooks=again)
    assert outcome.status == "finished", outcome.reason
    assert again.seen == [candidate]  # finished now, and nothing else run twice
    with Archive.open(tmp_path / "run") as archive:
        done = [e.payload["agent"] for e in archive.events("hooks_done")]
        scored = [a.id for a in archive.agents() if a.status in ("screened", "evaluated")]
        assert sorted(done) == sorted(scored)
