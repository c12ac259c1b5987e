"""The exploration/exploitation monitor: per-generation figures from the correctness matrix, and the
simple rules that act on them.

Figures of generation g (agents of generations <= g; "solved" means a score >= 1):
- coverage: share of search examples solved by at least one agent;
- distinct_behaviours: distinct per-example correctness vectors among agents scored on every example, and
  behaviour_diversity = distinct / such agents;
- novelty: mean over g's new agents of the normalised Hamming distance of their correctness vector to the
  nearest earlier agent (on the examples both were scored on);
- beat_parent_share: share of g's candidates (failed ones included) whose mean score on the examples shared
  with their main parent is higher than the parent's;
- screen_correlation: Pearson correlation, over agents scored on every example, between the mean on the
  screening subset (the first `screen_size` examples of the split, as the cascade screens) and the mean on
  the whole split;
- exploitation = beat_parent_share; exploration = share of candidates that beat their parent *and* behave
  unlike every earlier agent; balance = min(exploration / balance_target, 1) * exploitation. Like
  B-STaR's balance score (distinct correct samples times the share of correct samples) it is high only
  when the search finds new behaviour that is also better.

Rules (in `decide`), one change of the exploration level per generation at most (each level adds
`explore_temperature_step` of meta temperature and one inspiration), the first that applies:
1. coverage grew by at most `flat_coverage_eps` over `flat_window` generations and behaviour diversity (or
   novelty) fell: the level rises ("stuck");
2. the balance is low: over the last `flat_window` generations with candidates, the mean balance is below
   `balance_low` (0.2). Its two factors say why. When the novelty factor, ``min(exploration /
   balance_target, 1)``, is below the quality factor (exploitation), candidates do beat their parents but
   with behaviour the archive already has: the level rises (explore). Otherwise few candidates beat their
   parents at all, and at a raised level that is exploration gone too far: the level falls (exploit);
3. coverage grew over the last generation: the level falls back.
So the balance score is what decides once the search is not plainly stuck: a search that finds new and
better agents (balance at or above `balance_low`) keeps its settings. When screening predicts the full
score poorly (correlation below `screen_min_correlation` with at least `screen_min_agents` agents), the
screening subset grows by `screen_growth`, up to `screen_max_share` of the split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentkit.reflect._outcome import SOLVED

if TYPE_CHECKING:
    from agentkit.reflect._config import ReflectConfig


@dataclass(frozen=True)
class AgentFacts:
    """What the monitor needs to know about an agent besides its scores."""

    id: str
    generation: int
    parents: tuple[str, ...] = ()
    candidate: bool = True
    """False for agents not proposed by the search (seeds, imports)."""


class MonitorSnapshot(BaseModel):
    """The monitor's figures for one generation (logged as a ``monitor`` event; None = not measurable)."""

    generation: int
    """The generation described."""
    agents: int
    """Agents with search results up to this generation."""
    candidates: int
    """Candidates proposed in this generation (failed ones included)."""
    coverage: float | None
    """Share of search examples solved by at least one agent."""
    fully_scored: int
    """Agents scored on every search example (the ones behaviours and screening are measured on)."""
    distinct_behaviours: int
    """Distinct correctness vectors among fully scored agents."""
    behaviour_diversity: float | None
    """distinct_behaviours / fully scored agents."""
    novelty: float | None
    """Mean normalised Hamming distance of this generation's agents to their nearest earlier agent."""
    beat_parent_share: float | None
    """Share of candidates scoring above their main parent on shared examples."""
    screen_correlation: float | None
    """Correlation of screening-subset score with full-split score over fully scored agents."""
    exploration: float | None
    """Share of candidates that beat their parent and behave unlike every earlier agent."""
    exploitation: float | None
    """Same as beat_parent_share."""
    balance: float | None
    """min(exploration / balance_target, 1) * exploitation."""


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None for fewer than 3 points or no variance on a side."""
    if len(xs) != len(ys) or len(xs) < 3:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def distance(a: Mapping[str, float], b: Mapping[str, float]) -> float | None:
    """Share of shared examples on which one solves and the other does not; None when none is shared."""
    shared = [e for e in a if e in b]
    if not shared:
        return None
    return sum((a[e] >= SOLVED) != (b[e] >= SOLVED) for e in shared) / len(shared)


def compute_snapshot(
    matrix: Mapping[str, Mapping[str, float]],
    example_ids: Sequence[str],
    agents: Sequence[AgentFacts],
    generation: int,
    *,
    screen_size: int,
    balance_target: float = 0.5,
) -> MonitorSnapshot:
    """The figures of `generation` (see the module docstring) from the search correctness matrix."""
    upto = [a for a in agents if a.generation <= generation]
    scored = [a for a in upto if matrix.get(a.id)]
    coverage = (
        sum(1 for e in example_ids if any(matrix[a.id].get(e, 0.0) >= SOLVED for a in scored))
        / len(example_ids)
        if example_ids
        else None
    )
    full = [a for a in scored if all(e in matrix[a.id] for e in example_ids)]
    patterns = {tuple(matrix[a.id][e] >= SOLVED for e in example_ids) for a in full}
    earlier = [a for a in scored if a.generation < generation]
    new = [a for a in scored if a.generation == generation]

    def nearest(a: AgentFacts) -> float | None:
        found = [d for b in earlier if (d := distance(matrix[a.id], matrix[b.id])) is not None]
        return min(found) if found else None

    novelty = _mean([d for a in new if (d := nearest(a)) is not None])
    candidates = [a for a in upto if a.generation == generation and a.candidate]
    good = unique_good = 0
    for a in candidates:
        row = matrix.get(a.id)
        parent = matrix.get(a.parents[0]) if a.parents else None
        if not row or not parent:
            continue
        shared = [e for e in row if e in parent]
        if shared and sum(row[e] for e in shared) > sum(parent[e] for e in shared):
            good += 1
            d = nearest(a)
            if d is None or d > 0:
                unique_good += 1
    n = len(candidates)
    exploitation = good / n if n else None
    exploration = unique_good / n if n else None
    balance = (
        min(exploration / balance_target, 1.0) * exploitation
        if exploration is not None and exploitation is not None
        else None
    )
    screen = [e for e in example_ids[:screen_size]]
    screen_corr = None
    if screen and len(screen) < len(example_ids):
        xs = [sum(matrix[a.id][e] for e in screen) / len(screen) for a in full]
        ys = [sum(matrix[a.id][e] for e in example_ids) / len(example_ids) for a in full]
        screen_corr = pearson(xs, ys)
    return MonitorSnapshot(
        generation=generation,
        agents=len(scored),
        candidates=n,
        coverage=coverage,
        fully_scored=len(full),
        distinct_behaviours=len(patterns),
        behaviour_diversity=len(patterns) / len(full) if full else None,
        novelty=novelty,
        beat_parent_share=exploitation,
        screen_correlation=screen_corr,
        exploration=exploration,
        exploitation=exploitation,
        balance=balance,
    )


@dataclass
class Decision:
    """What the monitor's rules decided for one generation."""

    level: int
    """Exploration level (0: the configured settings)."""
    screen_size: int
    """Screening subset size to use."""
    notes: list[str] = field(default_factory=list)
    """Why anything changed."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form (kept in the archive's state, so a resumed generation decides the same)."""
        return {"level": self.level, "screen_size": self.screen_size, "notes": list(self.notes)}


def _falling(history: Sequence[MonitorSnapshot]) -> bool:
    last, before = history[-1], history[-2]
    if last.behaviour_diversity is not None and before.behaviour_diversity is not None:
        return last.behaviour_diversity < before.behaviour_diversity
    if last.novelty is not None and before.novelty is not None:
        return last.novelty < before.novelty
    return False


def balance_factors(
    history: Sequence[MonitorSnapshot], window: int, target: float
) -> tuple[float, float, float] | None:
    """Mean balance, novelty factor ``min(exploration / target, 1)`` and quality factor (exploitation)
    over the last `window` generations that had candidates; None when none had."""
    recent = [
        s
        for s in history
        if s.balance is not None and s.exploration is not None and s.exploitation is not None
    ][-window:]
    if not recent:
        return None
    n = len(recent)
    balance = sum(s.balance or 0.0 for s in recent) / n
    novelty = sum(min((s.exploration or 0.0) / target, 1.0) for s in recent) / n
    quality = sum(s.exploitation or 0.0 for s in recent) / n
    return balance, novelty, quality


def decide(
    history: Sequence[MonitorSnapshot],
    *,
    previous: Decision,
    base_screen_size: int,
    n_examples: int,
    config: ReflectConfig,
) -> Decision:
    """The next generation's exploration level and screening size from the figures so far (oldest first)
    and the previous decision (see the module docstring for the rules)."""
    level = previous.level
    screen = max(previous.screen_size, base_screen_size)
    notes: list[str] = []
    w = config.flat_window
    if len(history) >= w + 1:
        now, then = history[-1].coverage, history[-1 - w].coverage
        if (
            now is not None
            and then is not None
            and now - then <= config.flat_coverage_eps
            and _falling(history)
        ) and level < config.explore_max_level:
            level += 1
            notes.append(
                f"coverage flat ({then:.2f} -> {now:.2f} over {w} generations) and diversity falling: "
                f"exploration level {level}"
            )
    factors = balance_factors(history, w, config.balance_target)
    if not notes and factors is not None and factors[0] < config.balance_low:
        balance, novelty, quality = factors
        figures = (
            f"balance {balance:.2f} < {config.balance_low:.2f}; novelty {novelty:.2f}, quality {quality:.2f}"
        )
        if novelty < quality and level < config.explore_max_level:
            level += 1
            notes.append(f"{figures}: better candidates repeat known behaviour, exploration level {level}")
        elif novelty >= quality and level > 0:
            level -= 1
            notes.append(f"{figures}: few candidates beat their parents, exploration level {level}")
    if len(history) >= 2 and level > 0 and not notes:
        now, before = history[-1].coverage, history[-2].coverage
        if now is not None and before is not None and now - before > config.flat_coverage_eps:
            level -= 1
            notes.append(f"coverage grew ({before:.2f} -> {now:.2f}): exploration level {level}")
    if history and base_screen_size > 0:
        last = history[-1]
        corr = last.screen_correlation
        limit = max(base_screen_size, int(n_examples * config.screen_max_share))
        if (
            corr is not None
            and corr < config.screen_min_correlation
            and last.fully_scored >= config.screen_min_agents
            and screen < limit
        ):
            grown = min(limit, max(screen + 1, math.ceil(screen * config.screen_growth)))
            notes.append(
                f"screening predicted the full score poorly (r = {corr:.2f}): screening subset {screen} -> {grown}"
            )
            screen = grown
    return Decision(level=level, screen_size=screen, notes=notes)
