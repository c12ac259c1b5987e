"""Rule lift measured on the same questions (paired gains over the main parent) with an interval, and the
retirement rule: never on a few samples, only when the interval says a rule hurts or is useless."""

from __future__ import annotations

import pytest
from reflect_helpers import add_scored, make_ctx

from agentkit.archive import Archive, RuleEvidence, RuleRecord
from agentkit.llm import LLMClient, ModelConfig
from agentkit.reflect import (
    ReflectConfig,
    ReflectHooks,
    RuleLift,
    difference_interval,
    gains_of,
    paired_gain,
    rule_lifts,
)
from agentkit.tasks import Example


def _rule(archive: Archive, agent_id: str, text: str) -> RuleRecord:
    evidence = [RuleEvidence(agent_id=agent_id, generation=0, example_ids=["ex0"])]
    return archive.add_rule("strategy", text, generation=0, status="active", evidence=evidence)


def test_paired_gain_compares_on_the_questions_both_were_scored_on(
    archive: Archive, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Parent", range(10), origin="seed")  # right on ex0..ex9 of 20
    # Screened on the first 5 questions, right on all of them: the parent was right there too, so the
    # gain is 0, not 1.0 - 0.5 (the screening mean against the parent's full mean).
    screened, _ = add_scored(
        archive, examples, "Screened", range(5), parents=[parent.id], generation=1, screen=5
    )
    better, _ = add_scored(archive, examples, "Better", range(15), parents=[parent.id], generation=1)
    failed = archive.add_agent("Failed", "", parents=[parent.id], generation=1, status="failed")
    gains = {g.agent_id: g for g in gains_of(archive, [screened, better, failed])}
    assert gains[screened.id].gain == 0.0 and gains[screened.id].questions == 5
    assert gains[better.id].gain == pytest.approx(0.25) and gains[better.id].questions == 20
    # Failed before it ran: 0 on each of the parent's questions.
    assert gains[failed.id].gain == pytest.approx(-0.5) and gains[failed.id].questions == 20
    assert paired_gain({"q": 1.0}, {}) is None and paired_gain({"q": 1.0}, {"r": 0.0}) is None


def test_difference_interval_is_seeded_and_covers_the_difference() -> None:
    a, b = [0.3, 0.2, 0.4, 0.3, 0.25], [0.0, 0.1, -0.1, 0.05, 0.0]
    one = difference_interval(a, b, seed=7)
    assert one == difference_interval(a, b, seed=7)
    assert one.mean == pytest.approx(sum(a) / 5 - sum(b) / 5)
    assert 0 < one.low < one.mean < one.high


def test_the_verdicts_of_the_retirement_rule() -> None:
    cfg = ReflectConfig()  # 5 shown / 5 hidden before judging, band 0.03, patience 24
    few = RuleLift.judge("r1", "active", [-0.2, -0.3], [0.2, 0.3], cfg, seed=0)
    assert few.verdict == "too few" and not few.retire  # clearly lower, but two samples a side
    low = RuleLift.judge(
        "r1", "active", [-0.2, -0.25, -0.3, -0.2, -0.3], [0.2, 0.3, 0.25, 0.2, 0.3], cfg, seed=0
    )
    assert low.verdict == "hurts" and low.retire and low.lift is not None and low.lift.high < 0
    assert "hurts" in low.reason and "5 shown and 5 hidden" in low.reason
    noisy = RuleLift.judge(
        "r1", "active", [0.3, -0.3, 0.2, -0.2, 0.1, -0.1], [0.2, -0.2, 0.3, -0.3, 0.0], cfg, seed=0
    )
    assert noisy.verdict == "unclear" and not noisy.retire
    flat = RuleLift.judge("r1", "active", [0.0] * 18, [0.0] * 6, cfg, seed=0)
    assert flat.verdict == "useless" and flat.retire and "within ±0.030" in flat.reason
    early = RuleLift.judge("r1", "active", [0.0] * 10, [0.0] * 6, cfg, seed=0)
    assert early.verdict == "unclear" and not early.retire  # precise, but not yet patient enough
    good = RuleLift.judge(
        "r1", "active", [0.3, 0.2, 0.25, 0.3, 0.2], [0.0, 0.05, -0.05, 0.0, 0.0], cfg, seed=0
    )
    assert good.verdict == "helps" and not good.retire
    gone = RuleLift.judge(
        "r1", "retired", [-0.2, -0.25, -0.3, -0.2, -0.3], [0.2, 0.3, 0.25, 0.2, 0.3], cfg, seed=0
    )
    assert not gone.retire  # retired already
    # Even with the settings asking for one sample a side, no rule is judged on fewer than three.
    eager = ReflectConfig(lift_min_shown=1, lift_min_hidden=1)
    assert RuleLift.judge("r1", "active", [-0.5, -0.5], [0.5, 0.5], eager, seed=0).verdict == "too few"


async def _run_generations(
    archive: Archive,
    hooks: ReflectHooks,
    examples: list[Example],
    ctx_args: tuple[LLMClient, ModelConfig],
    rule: RuleRecord,
    parent_id: str,
    correct_when: dict[bool, range],
    generations: int,
    stop_at: dict[bool, int] | None = None,
) -> list[bool]:
    """Scripted generations of one candidate each, scored by whether `rule` was shown; returns the draws.
    With `stop_at`, a generation whose side already has that many candidates gets none."""
    ctx = make_ctx(archive, *ctx_args, examples)
    seen: list[bool] = []
    counts = {True: 0, False: 0}
    for generation in range(1, generations + 1):
        shown = rule.text in hooks.manual_text(ctx, generation)
        if stop_at is None or counts[shown] < stop_at[shown]:
            add_scored(
                archive,
                examples,
                f"Cand{generation}",
                correct_when[shown],
                parents=[parent_id],
                generation=generation,
                slot=0,
            )
            counts[shown] += 1
            seen.append(shown)
        await hooks.after_generation(ctx, generation)
        await hooks.after_generation(ctx, generation)  # repeating it (a resume) must not count twice
        if archive.rule(rule.id).status == "retired" or (stop_at and counts == stop_at):
            break
    return seen


async def test_a_rule_with_no_effect_is_not_retired_on_two_samples(
    archive: Archive, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    """Two candidates shown the rule did a little worse than two it was hidden from: the old rule (lift
    <= 0 after a few scores) retired it; the interval on two samples a side is no evidence."""
    parent, _ = add_scored(archive, examples, "Seed", range(10), origin="seed")
    rule = _rule(archive, parent.id, "The colour of the prompt does not matter.")
    cfg = ReflectConfig(hide_share=0.5, lift_min_shown=1, lift_min_hidden=1, contrastive=False)
    hooks = ReflectHooks(cfg)
    seen = await _run_generations(
        archive,
        hooks,
        examples,
        (client, model),
        rule,
        parent.id,
        {True: range(9), False: range(11)},  # gain -0.05 when shown, +0.05 when hidden
        40,
        stop_at={True: 2, False: 2},
    )
    assert sorted(seen) == [False, False, True, True]
    kept = archive.rule(rule.id)
    assert kept.status == "active"
    assert (kept.shown_count, kept.hidden_count) == (2, 2)
    assert kept.lift == pytest.approx(-0.1)  # the point estimate is negative ...
    lift = next(r for r in rule_lifts(archive, cfg, seed=0) if r.rule_id == rule.id)
    assert lift.verdict == "too few" and not lift.retire  # ... but two samples a side are not judged
    events = [e for e in archive.rule_events(rule.id) if e.kind == "lift"]
    assert len(events) == 4
    assert all(e.payload["measure"] == "paired_gain" and e.payload["questions"] == 20 for e in events)
    assert all(e.payload["parent"] == parent.id for e in events)


async def test_a_rule_whose_paired_lift_is_clearly_negative_is_retired(
    archive: Archive, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Seed", range(10), origin="seed")
    rule = _rule(archive, parent.id, "Always answer in words.")
    cfg = ReflectConfig(hide_share=0.5, contrastive=False)
    hooks = ReflectHooks(cfg)
    seen = await _run_generations(
        archive,
        hooks,
        examples,
        (client, model),
        rule,
        parent.id,
        {True: range(4), False: range(14)},  # gain -0.3 when shown, +0.2 when hidden
        60,
    )
    gone = archive.rule(rule.id)
    assert gone.status == "retired"
    assert seen.count(True) >= 5 and seen.count(False) >= 5  # the defaults' minimum on each side
    assert gone.lift == pytest.approx(-0.5)
    reason = [e for e in archive.rule_events(rule.id) if e.kind == "status"][-1].payload["reason"]
    assert reason.startswith("hurts: lift -0.500") and "the whole interval lies below +0.000" in reason
    # It is not in the next manual.
    ctx = make_ctx(archive, client, model, examples)
    assert rule.text not in hooks.manual_text(ctx, len(seen) + 1)


async def test_a_rule_that_helps_stays_with_an_interval_above_zero(
    archive: Archive, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    parent, _ = add_scored(archive, examples, "Seed", range(10), origin="seed")
    rule = _rule(archive, parent.id, "Check the arithmetic with run_python.")
    cfg = ReflectConfig(hide_share=0.5, contrastive=False)
    hooks = ReflectHooks(cfg)
    seen = await _run_generations(
        archive, hooks, examples, (client, model), rule, parent.id, {True: range(16), False: range(8)}, 24
    )
    kept = archive.rule(rule.id)
    assert kept.status == "active" and kept.shown_count + kept.hidden_count == len(seen) == 24
    lift = next(r for r in rule_lifts(archive, cfg, seed=0) if r.rule_id == rule.id)
    assert lift.verdict == "helps" and lift.lift is not None and lift.lift.low > 0
    assert lift.lift.mean == pytest.approx(0.4)
