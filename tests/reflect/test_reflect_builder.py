"""The builder's code-enforced rules hold against a scripted model that tries to break them."""

from __future__ import annotations

from reflect_helpers import (
    add_scored,
    evidence_problems,
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

from agentkit.archive import Archive, RuleEvidence
from agentkit.llm import LLMClient, ModelConfig
from agentkit.reflect import ArchiveFacts, ReflectConfig, ReflectHooks, check_operations, classify_outcome
from agentkit.tasks import Example
from agentkit.testing import FakeOpenAIServer


def _events(archive: Archive, kind: str) -> list[dict]:
    return [e.payload for e in archive.events(kind)]


async def test_a_regression_can_only_add_unresolved_errors_with_real_evidence(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(16), origin="seed")
    other, _ = add_scored(archive, examples, "Other", range(4, 18), origin="seed")
    child, result = add_scored(archive, examples, "Child", range(2), parents=[parent.id], generation=1)
    existing = archive.add_rule(
        "mechanism",
        "LLMAgentBase returns fields in the order asked for.",
        generation=0,
        status="active",
        evidence=[RuleEvidence(agent_id=parent.id, generation=0, example_ids=["ex0"])],
    )
    script(server, is_reflection, [reflection_reply(["ex3", "ex4"])])
    script(
        server,
        is_builder,
        [
            ops_reply(
                {"op": "write", "type": "success_pattern", "text": "Answering in words works well."},
                {"op": "write", "type": "strategy", "text": "Always use five debaters."},
                {
                    "op": "write",
                    "type": "unresolved_error",
                    "scope": "numeric answers",
                    "text": "Agents that ask for words instead of digits lose points.",
                    "example_ids": ["ex3", "ex4", "ex99"],
                    "evidence": [
                        {"agent_id": "a9999", "example_ids": ["ex1"], "note": "made up"},
                        {"agent_id": other.id, "example_ids": ["nope"]},
                        {"agent_id": other.id, "example_ids": ["ex5", "bogus"], "note": "same slip"},
                    ],
                },
                {"op": "update", "rule_id": existing.id, "type": "success_pattern", "note": "sneaky"},
                {"op": "update", "rule_id": "r999", "example_ids": ["ex3"]},
            )
        ],
    )
    ctx = make_ctx(archive, client, model, examples)
    hooks = ReflectHooks(ReflectConfig(max_ops_per_reflection=5))
    await hooks.after_evaluation(ctx, outcome_of(child, result))

    (reflection,) = archive.reflections(agent_id=child.id)
    assert reflection.outcome == "regressed"
    assert len(requests_matching(server, is_builder)) == 1
    rules = archive.rules()
    assert [r.type for r in rules] == ["mechanism", "unresolved_error"]
    written = rules[1]
    assert written.status == "candidate" and written.scope == "numeric answers"
    assert written.text == "Agents that ask for words instead of digits lose points."
    # Code adds the candidate's own evidence row and keeps only the verified extra row.
    first, extra = written.evidence
    assert first.agent_id == child.id and first.generation == 1
    assert first.example_ids == ["ex3", "ex4"]  # ex99 does not exist
    assert first.score_change == (2 - 16) / 20 and first.reflection_id == reflection.id
    assert extra.agent_id == other.id and extra.example_ids == ["ex5"] and extra.generation == 0
    assert archive.rule(existing.id).type == "mechanism"  # the type change was refused
    assert evidence_problems(archive) == []
    (ops,) = _events(archive, "rule_ops")
    reasons = " | ".join(r["reason"] for r in ops["rejected"])
    assert "may only add unresolved_error" in reasons
    assert "a9999" in reasons and "not in the archive" in reasons
    assert "not scored on" in reasons
    assert "no rule 'r999'" in reasons
    assert len(ops["accepted"]) == 1


async def test_success_pattern_needs_a_child_that_beat_its_parent_beyond_noise(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(3), origin="seed")
    small, small_result = add_scored(archive, examples, "Small", range(5), parents=[parent.id], generation=1)
    big, big_result = add_scored(archive, examples, "Big", range(18), parents=[parent.id], generation=1)
    write = {
        "op": "write",
        "type": "success_pattern",
        "text": "Verify the sum with run_python.",
        "example_ids": ["ex10"],
    }
    script(server, is_reflection, [reflection_reply(["ex10"], outcome="improved")])
    script(server, is_builder, [ops_reply(write)])
    ctx = make_ctx(archive, client, model, examples)
    hooks = ReflectHooks(ReflectConfig())
    await hooks.after_evaluation(ctx, outcome_of(small, small_result))
    assert archive.reflections(agent_id=small.id)[0].outcome == "no_change"
    assert archive.rules() == []  # +0.10 is within noise: no success_pattern
    await hooks.after_evaluation(ctx, outcome_of(big, big_result))
    assert archive.reflections(agent_id=big.id)[0].outcome == "improved"
    (rule,) = archive.rules()
    assert rule.type == "success_pattern" and rule.evidence[0].agent_id == big.id
    assert rule.evidence[0].score_change == (18 - 3) / 20 and rule.evidence[0].example_ids == ["ex10"]
    assert evidence_problems(archive) == []


async def test_updates_append_evidence_and_a_duplicate_write_is_refused(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(10), origin="seed")
    child, result = add_scored(archive, examples, "Child", range(9), parents=[parent.id], generation=2)
    rule = archive.add_rule(
        "unresolved_error",
        "Long prompts make the model forget the answer format.",
        generation=1,
        status="active",
        evidence=[RuleEvidence(agent_id=parent.id, generation=0, example_ids=["ex12"])],
    )
    script(server, is_reflection, [reflection_reply(["ex12", "ex13"])])
    script(
        server,
        is_builder,
        [
            ops_reply(
                {
                    "op": "write",
                    "type": "unresolved_error",
                    "text": "long prompts make the model forget the answer format.",
                },
                {"op": "update", "rule_id": rule.id, "example_ids": ["ex13"], "note": "seen again"},
                {"op": "retire", "rule_id": rule.id, "reason": "changed twice"},
            )
        ],
    )
    ctx = make_ctx(archive, client, model, examples)
    await ReflectHooks(ReflectConfig()).after_evaluation(ctx, outcome_of(child, result))
    (updated,) = archive.rules()
    assert updated.status == "active" and updated.last_confirmed_gen == 2
    assert [e.agent_id for e in updated.evidence] == [parent.id, child.id]
    assert updated.evidence[1].example_ids == ["ex13"] and updated.evidence[1].note == "seen again"
    reasons = [r["reason"] for r in _events(archive, "rule_ops")[0]["rejected"]]
    assert any("already has this rule" in r for r in reasons)
    assert any("already changed by this reply" in r for r in reasons)


def test_check_operations_limits_count_and_retirements(archive: Archive, examples: list[Example]) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(10), origin="seed")
    child, _ = add_scored(archive, examples, "Child", range(10), parents=[parent.id], generation=1)
    rules = [
        archive.add_rule("strategy", f"Rule number {i}.", generation=0, status="active") for i in range(3)
    ]
    verdict = classify_outcome(
        results_for(examples, range(10)), results_for(examples, range(10)), parent_id=parent.id
    )
    ops = (
        [{"op": "retire", "rule_id": r.id} for r in rules]
        + [{"op": "write", "type": "unresolved_error", "text": f"Problem {i}."} for i in range(3)]
        + ["not an object", {"op": "explode"}]
    )
    checked = check_operations(
        ops,
        verdict=verdict,
        candidate_id=child.id,
        generation=1,
        reflection=None,
        rules=archive.rules(),
        facts=ArchiveFacts(archive),
        config=ReflectConfig(max_ops_per_reflection=3, max_retires_per_reflection=1),
    )
    assert [(op.op, op.rule_id) for op in checked.accepted] == [("retire", rules[0].id)]
    reasons = [r.reason for r in checked.rejected]
    assert reasons.count("more than 1 retirements") == 2
    assert reasons.count("more than 3 operations") == 5
    assert (
        check_operations(
            None,
            verdict=verdict,
            candidate_id=child.id,
            generation=1,
            reflection=None,
            rules=[],
            facts=ArchiveFacts(archive),
            config=ReflectConfig(),
        ).accepted
        == []
    )


def test_parse_operations_reads_fenced_bare_and_python_style_replies() -> None:
    from agentkit.reflect import parse_operations

    op = {"op": "retire", "rule_id": "r001"}
    assert parse_operations(
        'Here you go:\n```json\n{"operations": [{"op": "retire", "rule_id": "r001"}]}\n```'
    ) == [op]
    assert parse_operations('[{"op": "retire", "rule_id": "r001"}]') == [op]
    assert parse_operations("{'operations': [{'op': 'retire', 'rule_id': 'r001'}],}") == [op]
    assert parse_operations('{"operations": []}') == []
    assert parse_operations("no idea") is None
    assert parse_operations('{"operations": "delete everything"}') is None
