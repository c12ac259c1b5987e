"""Workflow proposals and the ensembles built at the end, in whole searches against the fake server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from search_scripted import (
    AgentWorld,
    ScriptedMeta,
    agent_code,
    all_text,
    is_meta,
    last_user,
    proposal,
    question_of,
    stable_hash,
)

from agentkit.archive import Archive
from agentkit.search import SearchConfig, run_search
from agentkit.testing import FakeOpenAIServer, FakeReply, requested_fields

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]


def _config(server: FakeOpenAIServer, **changes: Any) -> SearchConfig:
    settings: dict[str, Any] = {
        "task": "gen/arithmetic",
        "model": "openai/fake-agent",
        "meta_model": "openai/fake-meta",
        "api_base": server.base_url,
        "generations": 3,
        "search_size": 12,
        "test_size": 6,
        "screen_size": 0,
        "parallel": 1,
        "self_review": 0,
        "debug_attempts": 1,
        "seeds": ["cot"],
        "sandbox": {"isolation": "process", "workers": 2, "wall_time_s": 5.0},
        "concurrency": 4,
        "cache": False,
        "top_k": 2,
        "model_timeout_s": 10.0,
        "progress": False,
        "reflect": {"reflection": False, "manual": False},
    }
    settings.update(changes)
    return SearchConfig(**settings)


def _workflow(name: str, *steps: dict[str, Any]) -> str:
    return json.dumps({"thought": f"Why {name} should work.", "name": name, "steps": list(steps)})


def _generate(marker: str, **params: Any) -> dict[str, Any]:
    return {
        "op": "generate",
        "instruction": f"{marker}:: Compute the expression and give the integer.",
        **params,
    }


# --- workflow proposals --------------------------------------------------------------------------------


def _propose_workflows(index: int, body: dict[str, Any]) -> str:
    assert "Design the next workflow" in last_user(body)  # the workflow prompt, not the code one
    script = [
        _workflow("Sampled vote", _generate("WFA", samples=3, temperature=0.8), {"op": "vote"}),
        _workflow("Brainstorm", {"op": "brainstorm"}),
        _workflow("Ghost caller", {"op": "call_agent", "agent_id": "a0099"}),
        # Same name and same composition as the first: renamed by its outline, then found a duplicate.
        _workflow("Sampled vote", _generate("WFA", samples=3, temperature=0.8), {"op": "vote"}),
    ]
    return script[min(index, len(script) - 1)]


def _fix_workflow(body: dict[str, Any]) -> str:
    # Each fixed workflow calls the best archive agent (a0002) and adds samples of its own.
    asked = last_user(body)
    samples = 2 if "brainstorm" in asked else 3 if "duplicate of" in asked else 1
    # The fix of the duplicate copies the renamed duplicate's name: it keeps one outline, its own.
    return _workflow(
        "Sampled vote (generate → vote)" if samples == 3 else f"Caller plus {samples}",
        {"op": "call_agent", "agent_id": "a0002"},
        _generate("WFB", samples=samples),
        {"op": "vote"},
    )


@pytest.fixture
def workflow_server() -> Iterator[tuple[FakeOpenAIServer, ScriptedMeta]]:
    meta = ScriptedMeta(_propose_workflows, _fix_workflow)
    world = AgentWorld({"WFA": lambda q: True, "WFB": lambda q: True})

    def respond(body: dict[str, Any]) -> FakeReply:
        return FakeReply(content=meta.reply(body) if is_meta(body) else world.reply(body))

    with FakeOpenAIServer(respond) as srv:
        yield srv, meta


async def test_workflow_proposals_are_checked_rendered_evaluated_and_exported(
    tmp_path: Path, workflow_server: tuple[FakeOpenAIServer, ScriptedMeta]
) -> None:
    srv, meta = workflow_server
    run_dir = tmp_path / "run"
    outcome = await run_search(_config(srv, proposals="workflow", ensembles=False, generations=4), run_dir)
    assert outcome.status == "finished", outcome.reason

    with Archive.open(run_dir) as archive:
        agents = {a.name: a for a in archive.agents(origin="meta")}
        assert all(a.meta["form"] == "workflow" for a in agents.values())
        sampled = agents["Sampled vote"]
        assert sampled.status == "evaluated" and sampled.search_summary is not None
        assert sampled.search_summary.accuracy.mean == 1.0
        assert sampled.meta["workflow"]["steps"][0]["samples"] == 3  # the spec is kept beside the code
        assert "majority_vote(answers)" in sampled.code and "WFA::" in sampled.code
        assert sampled.search_summary.llm_calls == 3 * 12  # three samples per question, as specified

        # Unknown operators and ids not in the archive are rejected with a message the meta agent gets.
        brainstorm, ghost = agents["Brainstorm"], agents["Ghost caller"]
        assert brainstorm.status == ghost.status == "failed"
        assert "unknown operator 'brainstorm'" in brainstorm.meta["failure"]
        assert "'a0099' is not in the archive" in ghost.meta["failure"]
        assert any("unknown operator 'brainstorm'" in f for f in meta.fixes)
        assert any("'a0099' is not in the archive" in f for f in meta.fixes)

        # The fixes call an archive agent: its code is included whole, and they score like any agent.
        # A duplicate workflow (unlike duplicate code) gets a fix: a different composition is one reply away.
        again = agents["Sampled vote (generate → vote)"]
        assert again.status == "failed" and again.meta["duplicate_of"] == sampled.id
        assert any(f"duplicate of {sampled.id}" in f for f in meta.fixes)
        assert agents["Sampled vote (call_agent → generate → vote)"].meta["fix_of"] == again.id
        fixes = [a for a in archive.agents(origin="meta") if a.meta.get("fix_of")]
        assert len(fixes) == 3 and all(a.status == "evaluated" for a in fixes)
        assert all("def _agent_a0002():" in a.code for a in fixes)
        assert all(a.search_summary and a.search_summary.accuracy.mean == 1.0 for a in fixes)

    # The selected workflow agent, exported, answers in an app through load_agent.
    exported = tmp_path / "agent.py"
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "export", str(run_dir), "-o", str(exported)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    import agentkit
    from agentkit.testing import model_config_for

    with agentkit.load_agent(str(exported), model=model_config_for(srv), task="gen/arithmetic") as agent:
        reply = agent("Compute the value of this expression: 6 * (3 + 4)")
    assert reply.answer == "42"


# --- ensembles -----------------------------------------------------------------------------------------

THIRDS = {"TRIA": 0, "TRIB": 1, "TRIC": 2}


def _third(question: str) -> int:
    return stable_hash(question) % 3


def _complementary_world() -> AgentWorld:
    # Three agents each right on a different third of the questions; the seed never right.
    policies = {m: (lambda q, k=k: _third(q) == k) for m, k in THIRDS.items()}
    policies[""] = lambda q: False
    return AgentWorld(policies)


def _propose_thirds(index: int, body: dict[str, Any]) -> str:
    marker = list(THIRDS)[min(index, 2)]
    return proposal(f"{marker} agent", agent_code(marker), f"Solves one kind of question ({marker}).")


def _router_reply(body: dict[str, Any], oracle: bool) -> str:
    """The router's classification call: an oracle names the member that is right; otherwise option 1."""
    text = all_text(body)
    menu = dict(re.findall(r"^(\d)\. (\w+) agent", text, flags=re.MULTILINE))
    pick = "1"
    if oracle:
        right = [n for n, m in menu.items() if THIRDS.get(m) == _third(question_of(text))]
        pick = right[0] if right else "1"
    return json.dumps({"choice": f"Solver {pick}."})


@pytest.fixture(params=["oracle router", "router that always picks the first"])
def ensemble_server(request: pytest.FixtureRequest) -> Iterator[tuple[FakeOpenAIServer, bool]]:
    oracle = request.param == "oracle router"
    meta = ScriptedMeta(_propose_thirds)
    world = _complementary_world()

    def respond(body: dict[str, Any]) -> FakeReply:
        if is_meta(body):
            return FakeReply(content=meta.reply(body))
        if requested_fields(body) == ["choice"]:
            return FakeReply(content=_router_reply(body, oracle))
        return FakeReply(content=world.reply(body))

    with FakeOpenAIServer(respond) as srv:
        yield srv, oracle


async def test_ensembles_are_built_scored_and_selected_only_by_the_lower_bound(
    tmp_path: Path, ensemble_server: tuple[FakeOpenAIServer, bool]
) -> None:
    srv, oracle = ensemble_server
    run_dir = tmp_path / "run"
    outcome = await run_search(_config(srv, proposals="code", debug_attempts=0), run_dir)
    assert outcome.status == "finished", outcome.reason

    with Archive.open(run_dir) as archive:
        thirds = {a.id for a in archive.agents(origin="meta")}
        ensembles = {a.meta["ensemble"]: a for a in archive.agents(origin="ensemble")}
        assert set(ensembles) == {"vote", "router"}
        for agent in ensembles.values():
            # Built over the three complementary agents, scored on the full search split like any agent.
            assert set(agent.parents) == thirds
            assert agent.status == "evaluated" and agent.search_summary is not None
            assert agent.search_summary.n == 12 and agent.search_summary.error_rate == 0.0
        # Each question is solved by exactly one member and the others agree on the same wrong answer.
        assert ensembles["vote"].search_summary.accuracy.mean == 0.0  # type: ignore[union-attr]
        router = ensembles["router"].search_summary
        assert router is not None
        first_member = archive.agent(ensembles["router"].parents[0]).search_summary
        assert first_member is not None
        # An oracle router solves everything; one that always picks option 1 is its first member.
        assert router.accuracy.mean == (1.0 if oracle else first_member.accuracy.mean)

        # Selection: the highest search-split lower bound among every evaluated agent, ensembles included.
        evaluated = [a for a in archive.agents("evaluated") if a.search_summary]
        best = max(evaluated, key=lambda a: (a.search_summary.accuracy.low, a.search_summary.accuracy.mean))  # type: ignore[union-attr]
        final = archive.get_state("final_summary")
        assert final["selected"]["id"] == best.id
        assert (final["selected"]["id"] == ensembles["router"].id) == oracle
        notes = {n["kind"]: n for n in final["ensembles"]}
        assert notes["router"]["selected"] == oracle and not notes["vote"]["selected"]
        assert notes["router"]["calls_per_question"] == 2.0  # one routing call, one call of the member
        assert (f"{ensembles['router'].id} was selected." in final["reason"]) == oracle
        assert ("Neither was selected" in final["reason"]) == (not oracle)
        # The closing comparison: the selected agent against the best seed on the same test questions.
        versus = final["versus_seed"]
        assert versus is not None and versus["n"] == 6
        assert versus["seed_mean"] == 0.0

        # The report shows the same: the ensembles with their cost, and the comparison with the best seed.
        from agentkit.report import build_report

        html = build_report(archive)
        assert "Ensembles built from the archive" in html and ensembles["router"].id in html
        assert "2.0</td>" in html  # calls per question of the router
        assert ("The search beat the best seed" in html) or ("did not clearly beat the best seed" in html)
        assert f"On the same {versus['n']} sealed test questions" in html


def test_grammar_constrained_proposals_rotate_the_operator_they_start_with() -> None:
    from agentkit.workflow import FOCUS_OPERATORS

    local = SearchConfig(task="gen/arithmetic", model="local", meta_model="local")
    firsts = [local.first_operator(generation, 0) for generation in range(1, len(FOCUS_OPERATORS) + 1)]
    assert sorted(f for f in firsts if f) == sorted(FOCUS_OPERATORS)  # every operator once per cycle
    assert local.first_operator(1, 0, attempt=1) != local.first_operator(1, 0)  # a fix tries the next
    # Free proposals for a model without a grammar, unless asked for; code slots never have one.
    remote = SearchConfig(
        task="gen/arithmetic", model="openai/x", meta_model="openai/x", proposals="workflow"
    )
    assert remote.first_operator(1, 0) is None
    assert remote.model_copy(update={"workflow_focus": True}).first_operator(1, 0) in FOCUS_OPERATORS
    assert local.model_copy(update={"proposals": "code"}).first_operator(1, 0) is None
    # Under a tight call budget the rotation skips operators the grammar no longer offers.
    cheap = local.model_copy(update={"workflow_max_calls": 6})
    cheap_firsts = {cheap.first_operator(g, 0) for g in range(1, 20)}
    assert "debate" not in cheap_firsts and len(cheap_firsts) == len(FOCUS_OPERATORS) - 1


def test_ensemble_members_stay_within_the_call_budget() -> None:
    from agentkit.search._ensembles import complementary_members

    matrix = {
        "best": {"q1": 1, "q2": 0, "q3": 0},
        "pricey": {"q1": 0, "q2": 1, "q3": 1},
        "cheap": {"q1": 0, "q2": 1, "q3": 0},
        "plain": {"q1": 1, "q2": 0, "q3": 0},
    }
    ranking = ["best", "pricey", "cheap", "plain"]
    costs = {"best": 1.0, "pricey": 7.0, "cheap": 2.0, "plain": 1.0}
    assert complementary_members(matrix, ranking) == ["best", "pricey", "cheap"]
    assert complementary_members(matrix, ranking, costs=costs, max_cost=5) == ["best", "cheap", "plain"]
    assert complementary_members(matrix, ranking, costs=costs, max_cost=3) == ["best", "cheap"]
    assert complementary_members(matrix, ranking, costs=costs, max_cost=0.5) == []
