"""How a candidate did against its parent: improved, regressed, no change or crashed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from agentkit.records import CODE_FAILURE_KINDS, ExampleResult

Outcome = Literal["improved", "regressed", "no_change", "crashed"]
OUTCOMES: tuple[Outcome, ...] = ("improved", "regressed", "no_change", "crashed")
FAILURES: frozenset[str] = frozenset({"regressed", "no_change", "crashed"})
"""Outcomes that may only add ``unresolved_error`` rules (or update existing ones)."""

SOLVED = 1.0
"""A score at or above this counts as solving an example (the search's convention)."""


class OutcomeVerdict(BaseModel):
    """The classified outcome of a candidate, with the numbers behind it."""

    outcome: Outcome
    """improved / regressed (beyond noise), no_change, or crashed."""
    parent_id: str | None
    """The parent compared against (the main parent), None when there is none."""
    n_shared: int
    """Examples both were scored on."""
    child_mean: float | None
    """The candidate's mean score on the shared examples (on all of its own when there is no parent)."""
    parent_mean: float | None
    """The parent's mean score on the shared examples."""
    score_change: float | None
    """child_mean - parent_mean, None without a parent."""
    p_value: float | None
    """Two-sided p-value of the paired comparison, None when none was made."""
    code_failure_share: float
    """Share of the candidate's examples that failed in its own code."""

    def describe(self) -> str:
        """One line for prompts and logs."""
        if self.outcome == "crashed":
            head = f"crashed: {self.code_failure_share:.0%} of its questions failed in its own code"
        else:
            head = self.outcome.replace("_", " ")
        if self.parent_id is None or self.score_change is None:
            return head + " (no parent to compare with)"
        p = f", p = {self.p_value:.3f}" if self.p_value is not None else ""
        return (
            f"{head}: {self.child_mean:.2f} against {self.parent_mean:.2f} for its parent {self.parent_id} "
            f"on {self.n_shared} shared questions (change {self.score_change:+.2f}{p})"
        )


def code_failure_share(results: Sequence[ExampleResult]) -> float:
    """Share of `results` that failed in the agent's own code (1.0 for no results at all)."""
    if not results:
        return 1.0
    return sum(1 for r in results if r.error is not None and r.error.kind in CODE_FAILURE_KINDS) / len(
        results
    )


def classify_outcome(
    child: Sequence[ExampleResult],
    parent: Sequence[ExampleResult] | None,
    *,
    parent_id: str | None = None,
    alpha: float = 0.05,
    crash_share: float = 0.5,
    seed: int = 0,
) -> OutcomeVerdict:
    """Classify `child` against `parent` on the examples both were scored on.

    crashed: at least `crash_share` of the child's examples failed in its own code. improved / regressed:
    the paired comparison (`agentkit.tasks.paired_compare`) of the shared examples has p < `alpha`;
    anything else (including no parent or no shared example) is no_change.
    """
    share = code_failure_share(child)
    own_mean = sum(r.score for r in child) / len(child) if child else None
    by_parent = {r.example_id: r.score for r in parent or ()}
    pairs = [(r.score, by_parent[r.example_id]) for r in child if r.example_id in by_parent]
    if not pairs or parent is None:
        outcome: Outcome = "crashed" if share >= crash_share else "no_change"
        return OutcomeVerdict(
            outcome=outcome,
            parent_id=parent_id,
            n_shared=0,
            child_mean=own_mean,
            parent_mean=None,
            score_change=None,
            p_value=None,
            code_failure_share=share,
        )
    from agentkit.tasks import paired_compare

    cmp = paired_compare([a for a, _ in pairs], [b for _, b in pairs], seed=seed)
    if share >= crash_share:
        outcome = "crashed"
    elif cmp.p_value < alpha and cmp.difference > 0:
        outcome = "improved"
    elif cmp.p_value < alpha and cmp.difference < 0:
        outcome = "regressed"
    else:
        outcome = "no_change"
    return OutcomeVerdict(
        outcome=outcome,
        parent_id=parent_id,
        n_shared=cmp.n,
        child_mean=cmp.mean_a,
        parent_mean=cmp.mean_b,
        score_change=cmp.difference,
        p_value=cmp.p_value,
        code_failure_share=share,
    )


def mean_change(child: dict[str, float], parent: dict[str, float]) -> tuple[float, int] | None:
    """Mean score difference child - parent over their shared examples and how many there are; None
    when they share none."""
    shared = [e for e in child if e in parent]
    if not shared:
        return None
    return sum(child[e] - parent[e] for e in shared) / len(shared), len(shared)
