"""How numbers are written, the same way in the terminal table, the report and an exported docstring."""

from __future__ import annotations

from agentkit.report._data import ScoreView


def fmt_score(score: ScoreView | None, *, with_n: bool = False) -> str:
    """``0.620 [0.480, 0.750]`` (and ``n=50``), or ``-`` when not measured."""
    if score is None:
        return "-"
    text = f"{score.mean:.3f} [{score.low:.3f}, {score.high:.3f}]"
    return f"{text} n={score.n}" if with_n else text


def fmt_cost(cost: float | None) -> str:
    """Dollars with enough digits for cheap models; ``n/a`` when the price is unknown."""
    if cost is None:
        return "n/a"
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost < 10 else f"${cost:,.2f}"


def fmt_int(value: int) -> str:
    """An integer with thousands separators."""
    return f"{value:,}"
