"""Aggregates over per-example results."""

from __future__ import annotations

from collections.abc import Sequence

from agentkit.records import EvalSummary, ExampleResult, Interval


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    # Linear interpolation between closest ranks, as numpy's default does.
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(results: Sequence[ExampleResult], *, seed: int = 0, stopped_early: bool = False) -> EvalSummary:
    """Accuracy with its interval (`agentkit.tasks.score_interval`) and error rate over the scored
    examples, how many are unscored (the provider failed them, `ExampleResult.unscored`), usage over
    all of them and latency percentiles over the scored ones."""
    from agentkit.tasks import score_interval

    scored = [r for r in results if not r.unscored]
    scores = [r.score for r in scored]
    # Nothing scored, nothing known: the whole range, not a certain 0 (the mean is 0 only by convention).
    accuracy = score_interval(scores, seed=seed) if scores else Interval(mean=0.0, low=0.0, high=1.0)
    costs = [r.cost_usd for r in results]
    latencies = [r.latency_s for r in scored]
    return EvalSummary(
        n=len(results),
        accuracy=accuracy,
        error_rate=(sum(r.error is not None for r in scored) / len(scored)) if scored else 0.0,
        unscored=len(results) - len(scored),
        llm_calls=sum(r.llm_calls for r in results),
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        cost_usd=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
        latency_p50_s=_percentile(latencies, 0.5),
        latency_p95_s=_percentile(latencies, 0.95),
        stopped_early=stopped_early,
    )
