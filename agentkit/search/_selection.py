"""Choosing which agents the meta agent sees: two parents and a few inspirations.

Quality alone makes the archive collapse onto one idea, so the second parent is chosen to *complement*
the first: it solves examples the first one fails (per-example correctness, not code similarity).
Every complementary choice is logged next to a random-partner control, and in a seeded share of slots
(`SearchConfig.control_share`) the control is really bred from instead, so the report can compare the
child-minus-parent gain of complementary and random pairs on the same questions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentkit.search._config import Selection

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive

PartnerKind = Literal["complementary", "random"]
"""How the second parent of a complementary selection was chosen."""


@dataclass(frozen=True)
class ScoredAgent:
    """What selection knows of one agent: its search-split score and which examples it solved."""

    id: str
    name: str
    low: float
    """Lower bound of the accuracy interval on the search split."""
    mean: float
    """Mean accuracy on the search split."""
    correct: dict[str, bool] = field(default_factory=dict)
    """Per example id: solved or not (only examples it was scored on)."""
    generation: int = 0

    @property
    def key(self) -> tuple[float, float, str]:
        """Sort key of quality: lower bound, then mean; the id breaks ties deterministically."""
        return (self.low, self.mean, _reverse_id(self.id))

    @property
    def failures(self) -> set[str]:
        """Examples it was scored on and got wrong."""
        return {e for e, ok in self.correct.items() if not ok}

    @property
    def solved(self) -> set[str]:
        """Examples it got right."""
        return {e for e, ok in self.correct.items() if ok}


def _reverse_id(agent_id: str) -> str:
    # On equal scores prefer the older (smaller) id: invert characters so max() picks it.
    return "".join(chr(0x10FFFF - ord(c)) for c in agent_id)


@dataclass
class SelectionResult:
    """Parents and inspirations for one candidate, with the record of how they were chosen."""

    mode: Selection
    parents: list[str]
    """One or two agent ids; the first is the main parent."""
    inspirations: list[str]
    """Further agents shown to the meta agent."""
    control_partner: str | None = None
    """A partner drawn at random from the same pool (logged to measure the benefit; the second parent
    itself when `partner` is ``random``)."""
    partner: PartnerKind | None = None
    """Which partner is the second parent in complementary mode (None in the other modes or without one)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Coverage figures of the chosen and the control partner, for the event log."""


def best(agents: Sequence[ScoredAgent]) -> ScoredAgent | None:
    """The agent with the highest lower bound (then mean)."""
    return max(agents, key=lambda a: a.key, default=None)


def tournament(agents: Sequence[ScoredAgent], size: int, rng: random.Random) -> ScoredAgent:
    """Draw `size` agents without replacement and return the best of them."""
    if not agents:
        raise ValueError("tournament needs at least one agent")
    drawn = rng.sample(list(agents), min(size, len(agents)))
    return max(drawn, key=lambda a: a.key)


def coverage_gain(first: ScoredAgent, partner: ScoredAgent) -> int:
    """Examples that `first` fails and `partner` solves."""
    return len(first.failures & partner.solved)


def complementary_partner(first: ScoredAgent, pool: Sequence[ScoredAgent]) -> ScoredAgent | None:
    """The agent of `pool` that solves most of the examples `first` fails; quality breaks ties.

    Falls back to the best other agent when nobody covers any failure (or `first` fails nothing).
    """
    others = [a for a in pool if a.id != first.id]
    if not others:
        return None
    return max(others, key=lambda a: (coverage_gain(first, a), *a.key))


def _inspirations(pool: Sequence[ScoredAgent], chosen: list[ScoredAgent], count: int) -> list[ScoredAgent]:
    """Greedy: alternately the best remaining agent and the one adding most newly solved examples;
    agents with the same correctness pattern as one already chosen are skipped (same behaviour)."""
    picked: list[ScoredAgent] = []
    seen_patterns = {frozenset(a.solved) for a in chosen}
    covered: set[str] = set().union(*(a.solved for a in chosen)) if chosen else set()
    remaining = [a for a in pool if a.id not in {c.id for c in chosen}]
    want_quality = True
    while remaining and len(picked) < count:
        fresh = [a for a in remaining if frozenset(a.solved) not in seen_patterns] or remaining
        if want_quality:
            pick = max(fresh, key=lambda a: a.key)
        else:
            pick = max(fresh, key=lambda a: (len(a.solved - covered), *a.key))
        picked.append(pick)
        seen_patterns.add(frozenset(pick.solved))
        covered |= pick.solved
        remaining = [a for a in remaining if a.id != pick.id]
        want_quality = not want_quality
    return picked


def select_parents(
    agents: Sequence[ScoredAgent],
    *,
    mode: Selection,
    rng: random.Random,
    tournament_size: int = 3,
    inspirations: int = 3,
    use_control: bool = False,
) -> SelectionResult:
    """Choose parents and inspirations from `agents` (those with search-split results).

    - ``complementary``: first parent by tournament on the lower bound; second the agent that solves
      most of the first one's failures. A random partner is drawn as a control and logged; with
      `use_control` it is the second parent instead (the draws are the same either way).
    - ``best``: the two agents with the highest lower bounds.
    - ``random``: two agents at random (the ablation baseline).
    """
    pool = sorted(agents, key=lambda a: a.id)
    if not pool:
        return SelectionResult(mode=mode, parents=[], inspirations=[])
    first: ScoredAgent
    second: ScoredAgent | None
    if mode == "best":
        ranked = sorted(pool, key=lambda a: a.key, reverse=True)
        first, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    elif mode == "random":
        drawn = rng.sample(pool, min(2, len(pool)))
        first, second = drawn[0], (drawn[1] if len(drawn) > 1 else None)
    else:
        first = tournament(pool, tournament_size, rng)
        second = complementary_partner(first, pool)
    others = [a for a in pool if a.id != first.id]
    control = rng.choice(others) if others else None
    partner: PartnerKind | None = None
    if mode == "complementary" and second is not None:
        partner = "complementary"
        if use_control and control is not None:
            second, partner = control, "random"
    chosen = [first] + ([second] if second is not None else [])
    details: dict[str, Any] = {
        "first": first.id,
        "first_failures": len(first.failures),
        "partner": second.id if second else None,
        "partner_gain": coverage_gain(first, second) if second else 0,
        "control_partner": control.id if control else None,
        "control_gain": coverage_gain(first, control) if control else 0,
        "pool_size": len(pool),
        "partner_used": partner,
    }
    return SelectionResult(
        mode=mode,
        parents=[a.id for a in chosen],
        inspirations=[a.id for a in _inspirations(pool, chosen, inspirations)],
        control_partner=control.id if control else None,
        partner=partner,
        details=details,
    )


# --- ranking stored agents ---------------------------------------------------------------------------


def rank_key(agent: AgentRecord) -> tuple[float, float, int]:
    """Sort key of a stored agent with a search summary: lower bound, mean, then older first among
    equals (a later copy of the same score does not displace the original)."""
    summary = agent.search_summary
    assert summary is not None
    return (summary.accuracy.low, summary.accuracy.mean, -_seq(agent.id))


def _seq(agent_id: str) -> int:
    digits = "".join(ch for ch in agent_id if ch.isdigit())
    return int(digits) if digits else 0


def fully_scored(agent: AgentRecord) -> bool:
    """Whether `agent` has a search-split score with no example left unscored by the provider. Only such
    agents are compared, selected or chosen as finalists; `Scoring.evaluate` stores no other, so an
    agent whose examples await the provider stays "proposed" (the report shows it without a score,
    with the results it has so far) until they are scored, later in the run or on ``--resume``."""
    summary = agent.search_summary
    return summary is not None and not summary.unscored


def best_evaluated(archive: Archive) -> AgentRecord | None:
    """The best agent scored on the full search split (None before any)."""
    evaluated = [a for a in archive.agents("evaluated") if fully_scored(a)]
    return max(evaluated, key=rank_key, default=None)


def score_line(agent: AgentRecord, split: str = "search") -> str:
    """An agent's score on `split` in one line (mean, interval, size)."""
    summary = agent.summaries.get(split)
    if summary is None:
        return "not scored"
    a = summary.accuracy
    note = " (screening subset only)" if summary.stopped_early else ""
    return f"{a.mean:.2f} [{a.low:.2f}, {a.high:.2f}] on {summary.n} questions{note}"
