"""A resumed run finishes what a stopped one left half done (the builder step after a stored reflection),
never repeats what was done, and builds the same reflection prompt whatever order results finished in."""

from __future__ import annotations

from pathlib import Path

from reflect_helpers import (
    CODE,
    add_scored,
    is_builder,
    is_reflection,
    make_ctx,
    ops_reply,
    outcome_of,
    reflection_reply,
    requests_matching,
    results_for,
    script,
)

from agentkit.archive import Archive
from agentkit.evaluate._summary import summarize
from agentkit.llm import LLMClient, ModelConfig
from agentkit.records import EvalResult
from agentkit.reflect import ReflectConfig, ReflectHooks, Reflector
from agentkit.tasks import Example
from agentkit.testing import FakeOpenAIServer

UNRESOLVED = {"op": "write", "type": "unresolved_error", "text": "Answers drift by one."}


async def test_a_stored_reflection_without_its_builder_step_gets_the_step_once_on_resume(
    archive: Archive,
    server: FakeOpenAIServer,
    client: LLMClient,
    model: ModelConfig,
    examples: list[Example],
) -> None:
    script(server, is_reflection, [reflection_reply(["ex1"])])
    script(server, is_builder, [ops_reply(UNRESOLVED)])
    parent, _ = add_scored(archive, examples, "P", range(10), origin="seed")
    child, result = add_scored(archive, examples, "C", range(5), parents=[parent.id], generation=1, slot=0)
    ctx = make_ctx(archive, client, model, examples)
    cfg = ReflectConfig(hide_share=0.0)

    # A session stopped after storing the reflection, before the builder step ran.
    await Reflector(archive, client, model, cfg, ctx.task, examples).reflect(child.id, 1)
    assert archive.events("rule_ops") == []

    hooks = ReflectHooks(cfg)
    await hooks.after_evaluation(ctx, outcome_of(child, result))  # the resumed session
    assert len(archive.reflections(agent_id=child.id)) == 1
    assert len(requests_matching(server, is_reflection)) == 1
    assert len(archive.events("rule_ops")) == 1
    assert [r.text for r in archive.rules()] == ["Answers drift by one."]

    await hooks.after_evaluation(ctx, outcome_of(child, result))  # and once more: nothing new
    assert len(requests_matching(server, is_builder)) == 1
    assert len(archive.events("rule_ops")) == 1
    assert len(archive.rules()) == 1


async def test_the_reflection_prompt_does_not_depend_on_the_order_results_finished_in(
    tmp_path: Path, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    prompts = []
    for order in ("forward", "backward"):
        with Archive.create(tmp_path / order, {"task": "toy/double", "seed": 0}) as archive:
            parent, _ = add_scored(archive, examples, "P", range(0, 20, 2), origin="seed")
            child = archive.add_agent(
                "C", CODE.replace("{tag}", "C"), parents=[parent.id], generation=1, origin="meta"
            )
            results = results_for(examples, range(0, 20, 3))
            if order == "backward":
                results.reverse()  # as concurrency may store them
            archive.record_evaluation(
                child.id,
                EvalResult(agent="C", task="toy/double", results=results, summary=summarize(results)),
                split="search",
                status="evaluated",
            )
            ctx = make_ctx(archive, client, model, examples)
            reflector = Reflector(archive, client, model, ReflectConfig(), ctx.task, examples)
            messages, picked, _, _ = reflector.messages(child.id, reflector.verdict(child.id), "")
            prompts.append((messages, [p.example_id for p in picked]))
    assert prompts[0] == prompts[1]
