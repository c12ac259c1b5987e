"""Outcome classification against the parent, and the choice of examples and contrasting agent."""

from __future__ import annotations

from reflect_helpers import make_examples, results_for

from agentkit.reflect import choose_contrast, classify_outcome, pick_examples

EXAMPLES = make_examples()


def test_improved_and_regressed_need_a_difference_beyond_noise() -> None:
    parent = results_for(EXAMPLES, range(3))
    child = results_for(EXAMPLES, range(17))
    up = classify_outcome(child, parent, parent_id="p")
    assert up.outcome == "improved" and up.p_value is not None and up.p_value < 0.05
    assert up.score_change == (17 - 3) / 20 and up.n_shared == 20
    down = classify_outcome(parent, child, parent_id="p")
    assert down.outcome == "regressed" and down.score_change == -(17 - 3) / 20


def test_a_small_difference_is_no_change() -> None:
    parent = results_for(EXAMPLES, range(10))
    child = results_for(EXAMPLES, range(12))
    verdict = classify_outcome(child, parent, parent_id="p")
    assert verdict.outcome == "no_change"
    assert verdict.score_change == 0.1 and verdict.p_value is not None and verdict.p_value >= 0.05


def test_crashed_when_most_examples_fail_in_the_agents_code() -> None:
    parent = results_for(EXAMPLES, range(10))
    child = results_for(EXAMPLES, range(2), crash=range(2, 20))
    verdict = classify_outcome(child, parent, parent_id="p")
    assert verdict.outcome == "crashed" and verdict.code_failure_share == 0.9
    assert "crashed" in verdict.describe()


def test_screened_child_is_compared_on_shared_examples_only() -> None:
    parent = results_for(EXAMPLES, range(20))
    child = results_for(EXAMPLES, range(5))[:5]
    verdict = classify_outcome(child, parent, parent_id="p")
    assert verdict.n_shared == 5 and verdict.score_change == 0.0 and verdict.outcome == "no_change"


def test_without_parent_there_is_nothing_to_beat() -> None:
    verdict = classify_outcome(results_for(EXAMPLES, range(20)), None)
    assert verdict.outcome == "no_change" and verdict.score_change is None


def test_pick_prefers_regressions_then_examples_nobody_solves() -> None:
    child = results_for(EXAMPLES, [0, 1, 2])
    parent = {e.id: (1.0 if i in (10, 11) else 0.0) for i, e in enumerate(EXAMPLES)}
    matrix = {
        "child": {r.example_id: r.score for r in child},
        "parent": parent,
        "other": {e.id: (1.0 if i in (3, 4, 5, 10) else 0.0) for i, e in enumerate(EXAMPLES)},
    }
    picked = pick_examples("child", child, parent, matrix, outcome="regressed", k=4, gains=2)
    assert [(p.example_id, p.kind) for p in picked] == [
        ("ex10", "regression"),
        ("ex11", "regression"),
        ("ex6", "unsolved"),
        ("ex7", "unsolved"),
    ]
    assert picked[0].solvers == ["other", "parent"]
    contrast, per_example = choose_contrast(picked, "parent")
    # parent and other both solve ex10; only parent solves ex11 -> parent covers most failures.
    assert contrast == "parent"
    assert per_example == {"ex10": "parent", "ex11": "parent"}


def test_an_improvement_also_shows_what_was_gained() -> None:
    child = results_for(EXAMPLES, range(15))
    parent = {e.id: (1.0 if i < 5 else 0.0) for i, e in enumerate(EXAMPLES)}
    matrix = {"child": {r.example_id: r.score for r in child}, "parent": parent}
    picked = pick_examples("child", child, parent, matrix, outcome="improved", k=2, gains=2)
    assert [p.kind for p in picked] == ["unsolved", "unsolved", "gain", "gain"]
    assert [p.example_id for p in picked[2:]] == ["ex5", "ex6"]
