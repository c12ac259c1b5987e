"""The formulator, the cap with consolidation, and expiry (lift and its retirement rule: test_reflect_lift)."""

from __future__ import annotations

import json

from reflect_helpers import add_scored, evidence_problems, is_consolidation, make_ctx, script

from agentkit.archive import Archive, RuleEvidence, RuleType
from agentkit.llm import LLMClient, ModelConfig
from agentkit.reflect import (
    ReflectConfig,
    ReflectHooks,
    RuleKeeper,
    check_merges,
    formulate,
    hidden_rules,
)
from agentkit.tasks import Example
from agentkit.testing import FakeOpenAIServer


def _ev(agent_id: str, n: int = 1) -> list[RuleEvidence]:
    return [RuleEvidence(agent_id=agent_id, generation=0, example_ids=[f"ex{i}"]) for i in range(n)]


def test_formulate_groups_by_type_keeps_text_word_for_word_and_drops_whole_rules(archive: Archive) -> None:
    a = archive.add_agent("A", "def forward(self, taskInfo):\n    return '1'\n")
    texts: dict[RuleType, str] = {
        "unresolved_error": "Agents that print instead of return get nothing.  (Keep  spacing!)",
        "strategy": "For multi-step sums, decompose first.",
        "mechanism": "Temperature 0 makes self-consistency useless.",
    }
    for rule_type, text in texts.items():
        archive.add_rule(
            rule_type, text, generation=0, status="active", evidence=_ev(a.id, 2), scope="always"
        )
    weak = archive.add_rule(
        "helper", "A weakly supported helper rule.", generation=0, status="active", evidence=_ev(a.id)
    )
    archive.add_rule("strategy", "A retired rule never shows.", generation=0, status="retired")
    full = formulate(archive.rules("active"))
    for text in texts.values():
        assert text in full.text
    order = [
        full.text.index(h)
        for h in ("## Strategies", "## How the building blocks", "## Useful pieces", "## Open problems")
    ]
    assert order == sorted(order)
    assert "A retired rule never shows." not in full.text
    assert len(full.included) == 4 and full.left_out == []
    tight = formulate(archive.rules("active"), max_chars=len(full.text) - 5)
    assert tight.left_out == [weak.id] and weak.text not in tight.text
    assert len(tight.text) <= len(full.text) - 5
    for text in texts.values():
        assert text in tight.text


def test_hidden_rules_are_seeded_per_generation() -> None:
    ids = [f"r{i:03d}" for i in range(40)]
    first = hidden_rules(ids, generation=3, seed=7, share=0.25)
    assert first == hidden_rules(ids, generation=3, seed=7, share=0.25)
    assert first != hidden_rules(ids, generation=4, seed=7, share=0.25)
    assert 0 < len(first) < 40
    assert hidden_rules(ids, generation=3, seed=7, share=0.0) == set()


async def test_over_the_cap_consolidation_merges_checked_by_code_then_falls_back(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    agent, _ = add_scored(archive, examples, "A", range(10), origin="seed")
    rules = [
        archive.add_rule(
            "strategy", f"Strategy rule {i}.", generation=0, status="active", evidence=_ev(agent.id, 3)
        )
        for i in range(3)
    ] + [
        archive.add_rule(
            "unresolved_error", f"Open problem {i}.", generation=0, status="active", evidence=_ev(agent.id, 1)
        )
        for i in range(3)
    ]
    merges = {
        "merges": [
            {
                "rule_ids": [rules[0].id, rules[1].id],
                "type": "strategy",
                "text": "Strategy rules 0 and 1 together.",
            },
            {"rule_ids": [rules[3].id, rules[4].id], "type": "success_pattern", "text": "Forged success."},
            {"rule_ids": [rules[2].id, "r404"], "type": "strategy", "text": "Merging a ghost."},
            {"rule_ids": [rules[0].id, rules[2].id], "type": "strategy", "text": "Reusing a merged rule."},
            {"rule_ids": [rules[5].id], "type": "unresolved_error", "text": "Alone."},
        ]
    }
    script(server, is_consolidation, [json.dumps(merges)])
    keeper = RuleKeeper(archive, client, model, ReflectConfig(rule_cap=3))
    report = await keeper.consolidate(generation=4)
    active = archive.rules("active")
    assert len(active) == 3 and report["after"] == 3 and report["before"] == 6
    (merged,) = [r for r in archive.rules() if r.text == "Strategy rules 0 and 1 together."]
    assert merged.status == "active" and merged.type == "strategy" and len(merged.evidence) == 6
    assert archive.rule(rules[0].id).status == "retired" and archive.rule(rules[1].id).status == "retired"
    assert not any(r.type == "success_pattern" for r in archive.rules())
    # 5 active after the merge -> the two least supported (open problems, 1 evidence row) are retired.
    # Among equally supported rules the newest go first (the older ones were written earlier from the
    # same amount of evidence and keep the manual stable).
    assert sorted(report["retired"]) == sorted([rules[4].id, rules[5].id])
    assert len(report["rejected"]) == 4
    assert evidence_problems(archive) == []


async def test_consolidation_survives_a_junk_reply(
    archive: Archive, server: FakeOpenAIServer, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    agent, _ = add_scored(archive, examples, "A", range(10), origin="seed")
    for i in range(5):
        archive.add_rule(
            "strategy", f"Rule {i}.", generation=0, status="active", evidence=_ev(agent.id, i + 1)
        )
    script(server, is_consolidation, ["Sure! I merged them in my head."])
    report = await RuleKeeper(archive, client, model, ReflectConfig(rule_cap=2)).consolidate(generation=1)
    assert [r.text for r in archive.rules("active")] == ["Rule 3.", "Rule 4."]  # best supported kept
    assert report["merged"] == [] and len(report["retired"]) == 3


def test_check_merges_keeps_all_evidence(archive: Archive) -> None:
    a = archive.add_agent("A", "def forward(self, taskInfo):\n    return '1'\n")
    r1 = archive.add_rule("helper", "One.", generation=0, status="active", evidence=_ev(a.id, 2))
    r2 = archive.add_rule("mechanism", "Two.", generation=0, status="active", evidence=_ev(a.id, 3))
    accepted, rejected = check_merges(
        [{"rule_ids": [r1.id, r2.id], "type": "mechanism", "text": "One and two."}],
        archive.rules(),
        ReflectConfig(),
    )
    assert rejected == [] and len(accepted[0].evidence) == 5


async def test_stale_unresolved_errors_expire(
    archive: Archive, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    seed, _ = add_scored(archive, examples, "Seed", range(10), origin="seed")
    old = archive.add_rule(
        "unresolved_error", "Old problem.", generation=1, status="active", evidence=_ev(seed.id)
    )
    fresh = archive.add_rule(
        "unresolved_error", "Fresh problem.", generation=5, status="active", evidence=_ev(seed.id)
    )
    ctx = make_ctx(archive, client, model, examples)
    hooks = ReflectHooks(ReflectConfig(stale_generations=4, hide_share=0.0))
    await hooks.after_generation(ctx, 6)
    assert archive.rule(old.id).status == "retired" and archive.rule(fresh.id).status == "active"
