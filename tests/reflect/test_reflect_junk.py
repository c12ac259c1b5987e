"""A reflection model that returns junk, fails or times out never breaks the search."""

from __future__ import annotations

import pytest
from reflect_helpers import (
    add_scored,
    is_builder,
    is_reflection,
    make_ctx,
    outcome_of,
    requests_matching,
    script,
)

from agentkit.archive import Archive
from agentkit.llm import LLMClient, ModelConfig
from agentkit.reflect import ReflectConfig, ReflectHooks
from agentkit.search import CandidateOutcome, HookDispatcher
from agentkit.tasks import Example
from agentkit.testing import FakeOpenAIServer, Fault


async def test_unparseable_reflection_is_recorded_with_the_raw_text(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(12), origin="seed")
    child, result = add_scored(archive, examples, "Child", range(2), parents=[parent.id], generation=1)
    script(server, is_reflection, ["I think the agent is sad. {not json at all"])
    ctx = make_ctx(archive, client, model, examples)
    await ReflectHooks(ReflectConfig()).after_evaluation(ctx, outcome_of(child, result))
    (reflection,) = archive.reflections(agent_id=child.id)
    assert reflection.outcome == "regressed"
    assert "not json at all" in reflection.payload["raw"] and reflection.payload["parse_error"]
    assert reflection.payload["example_ids"]  # the examples code picked are still recorded
    assert reflection.payload["contrast_agent"] == parent.id
    assert requests_matching(server, is_builder) == []  # nothing to build on
    assert archive.rules() == []


async def test_partial_reflection_keeps_what_parsed(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(12), origin="seed")
    child, result = add_scored(archive, examples, "Child", range(12), parents=[parent.id], generation=1)
    script(
        server,
        is_reflection,
        ['```json\n{"failure_pattern": "drops the units", "example_ids": "ex12, ex13, ex77"'],
    )
    script(server, is_builder, ['{"operations": "delete everything"}'])
    ctx = make_ctx(archive, client, model, examples)
    await ReflectHooks(ReflectConfig()).after_evaluation(ctx, outcome_of(child, result))
    (reflection,) = archive.reflections(agent_id=child.id)
    assert reflection.outcome == "no_change"
    assert reflection.payload["failure_pattern"] == "drops the units"
    assert reflection.payload["example_ids"] == ["ex12", "ex13"]  # ex77 was not shown
    assert "missing fields" in reflection.payload["parse_error"]
    (ops,) = [e.payload for e in archive.events("rule_ops")]
    assert ops["accepted"] == [] and "no operation list" in ops["error"]


async def test_server_errors_and_internal_errors_are_logged_not_raised(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(12), origin="seed")
    child, result = add_scored(archive, examples, "Child", range(3), parents=[parent.id], generation=1)
    server.inject(Fault.status(500))
    ctx = make_ctx(archive, client, model, examples)
    hooks = ReflectHooks(ReflectConfig())
    await hooks.after_evaluation(ctx, outcome_of(child, result))
    (reflection,) = archive.reflections(agent_id=child.id)
    assert "Error" in reflection.payload["parse_error"]
    ghost = CandidateOutcome(
        agent_id="a9999", generation=1, parents=[parent.id], status="evaluated", result=result
    )
    with pytest.raises(Exception, match="a9999"):
        await hooks.after_evaluation(ctx, ghost)  # called directly, a hook raises like any code
    # The search calls hooks through its dispatcher: the error is logged and the search goes on.
    dispatcher = HookDispatcher(hooks, ctx)
    await dispatcher.after_evaluation(ghost)
    await dispatcher.after_generation(1)
    errors = archive.events("hook_error")
    assert [e.payload["where"] for e in errors] == ["after_evaluation"]
    assert errors[0].payload["hooks"] == "ReflectHooks"
    assert "a9999" in errors[0].payload["error"]
    # a second call for the same candidate does not reflect twice
    await hooks.after_evaluation(ctx, outcome_of(child, result))
    assert len(archive.reflections(agent_id=child.id)) == 1


async def test_seeds_are_not_reflected_on_and_switches_turn_parts_off(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    seed, seed_result = add_scored(archive, examples, "Seed", range(12), origin="seed")
    child, result = add_scored(archive, examples, "Child", range(3), parents=[seed.id], generation=1)
    ctx = make_ctx(archive, client, model, examples)
    await ReflectHooks(ReflectConfig()).after_evaluation(ctx, outcome_of(seed, seed_result))
    await ReflectHooks(ReflectConfig(reflection=False)).after_evaluation(ctx, outcome_of(child, result))
    assert archive.reflections() == [] and server.requests == []
    archive.add_rule("strategy", "Shown only with the manual on.", generation=0, status="active")
    assert ReflectHooks(ReflectConfig(manual=False)).manual_text(ctx, 1) == ""
    no_manual = make_ctx(archive, client, model, examples, reflect=ReflectConfig(manual=False))
    assert ReflectHooks(ReflectConfig(hide_share=0.0)).manual_text(no_manual, 2) == ""
    assert "Shown only with the manual on." in ReflectHooks(ReflectConfig(hide_share=0.0)).manual_text(ctx, 3)


def test_reflect_hooks_implement_the_search_hook_protocol() -> None:
    from agentkit.search import SearchHooks

    hooks: SearchHooks = ReflectHooks()
    assert isinstance(hooks, SearchHooks)
