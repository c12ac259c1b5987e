"""What a rule of the manual is worth, measured on the same questions, and when that retires it.

The measure. Every candidate is compared with its main parent on the same questions: its *gain* is the
mean, over the search questions both were scored on, of its score minus the parent's. A candidate stopped
at screening is compared on its screening questions only, so screening means and full means are never
mixed; a candidate that failed before it was scored at all counts as 0 on every question its parent was
scored on. One gain per candidate slot of a generation (its last attempt, as stored when the generation
ends), recorded once per generation for every rule that was shown to or hidden from the meta agent
(`Archive.record_rule_lift`, a ``lift`` rule event with the candidate, its parent and the number of
questions). Each generation every active rule is hidden with probability `hide_share` (seeded), so

    lift(rule) = mean gain of candidates shown the rule - mean gain of candidates it was hidden from

with a 95% percentile bootstrap interval (`difference_interval`: 2000 resamples, each group resampled
with replacement on its own, seeded by the run's seed and the rule id, so the same archive always gives
the same interval). The unit is the candidate: questions are paired within a candidate, never pooled
across candidates.

Retirement (`RuleLift.judge`, thresholds in `ReflectConfig`). A rule is judged only once each group holds
at least `lift_min_shown` / `lift_min_hidden` gains (and never fewer than `MIN_GROUP` = 3, whatever the
settings say). It is then retired
- as harmful when the whole interval lies below `lift_min` (0.0): its upper end is below it;
- as useless when at least `lift_patience` (24) gains are recorded (shown and hidden together) and the
  whole interval lies within ``±lift_band`` (0.03) of zero: a small effect, measured precisely.
Any other rule stays: an interval that straddles zero widely is not evidence, so a rule with no effect is
not retired on a handful of samples, and a rule whose interval lies above zero is never retired by lift.
Runs recorded before gains existed stored absolute scores in their ``lift`` events; those events carry
no ``measure`` and are ignored here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from agentkit.records import Interval

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.reflect._config import ReflectConfig

MEASURE = "paired_gain"
"""``measure`` of the ``lift`` rule events this module writes and reads."""

MIN_GROUP = 3
"""Fewest gains on each side (shown, hidden) before any lift may retire a rule."""

Verdict = Literal["too few", "hurts", "useless", "helps", "unclear"]


@dataclass(frozen=True)
class Gain:
    """One candidate against its main parent on the questions both were scored on."""

    agent_id: str
    parent_id: str
    gain: float
    """Mean of (candidate score - parent score) over the shared questions."""
    questions: int
    """How many questions were shared."""


def paired_gain(child: Mapping[str, float] | None, parent: Mapping[str, float]) -> tuple[float, int] | None:
    """Mean of child minus parent over the questions both were scored on, and their number. A child with
    no scores at all (it failed before it ran) counts as 0 on each of the parent's questions; None when
    the parent has no scores or they share no question."""
    if not parent:
        return None
    if not child:
        return -math.fsum(parent.values()) / len(parent), len(parent)
    shared = [q for q in child if q in parent]
    if not shared:
        return None
    return math.fsum(child[q] - parent[q] for q in shared) / len(shared), len(shared)


def slot_agents(archive: Archive, generation: int) -> list[AgentRecord]:
    """The last attempt of each candidate slot of `generation` (the agent the slot ended with)."""
    last: dict[Any, AgentRecord] = {}
    for agent in archive.agents(generation=generation, origin="meta"):
        slot = agent.meta.get("slot", agent.id)
        key = slot if isinstance(slot, int | str) else agent.id
        attempt = int(agent.meta.get("attempt", 0) or 0)
        if key not in last or attempt >= int(last[key].meta.get("attempt", 0) or 0):
            last[key] = agent
    return list(last.values())


def gains_of(archive: Archive, agents: Sequence[AgentRecord], split: str = "search") -> list[Gain]:
    """The paired gain of each of `agents` (scored on `split`) over its main parent's search scores; a
    candidate rejected as a duplicate has the scores of the agent it copies; agents without a parent or
    without shared questions are left out."""
    with_parent = [a for a in agents if a.parents]
    if not with_parent:
        return []
    twins = {a.id: str(a.meta["duplicate_of"]) for a in with_parent if a.meta.get("duplicate_of")}
    own = archive.correctness_matrix(split, agent_ids=[a.id for a in with_parent])
    wanted = {a.parents[0] for a in with_parent} | set(twins.values())
    searched = archive.correctness_matrix("search", agent_ids=sorted(wanted))
    out = []
    for agent in with_parent:
        parent_id = agent.parents[0]
        scores = searched.get(twins[agent.id]) if agent.id in twins else own.get(agent.id)
        found = paired_gain(scores, searched.get(parent_id, {}))
        if found is not None:
            out.append(Gain(agent.id, parent_id, found[0], found[1]))
    return out


def stable_seed(*parts: object) -> int:
    """A seed for numpy from `parts` (the same on every machine and Python run)."""
    text = "/".join(str(p) for p in parts)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def difference_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    seed: int,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """``mean(a) - mean(b)`` of two independent groups with a percentile bootstrap interval: each group is
    resampled with replacement on its own (seeded), the interval is the quantiles of the resampled
    differences. Both groups need at least one value."""
    import numpy as np

    if not a or not b:
        raise ValueError("both groups need at least one value")
    rng = np.random.default_rng(seed)
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    da = xa[rng.integers(0, len(xa), size=(n_resamples, len(xa)))].mean(axis=1)
    db = xb[rng.integers(0, len(xb), size=(n_resamples, len(xb)))].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(da - db, [alpha / 2, 1 - alpha / 2])
    centre = math.fsum(a) / len(a) - math.fsum(b) / len(b)
    return Interval(mean=centre, low=float(low), high=float(high), confidence=confidence, method="bootstrap")


class RuleLift(BaseModel):
    """A rule's measured lift: the gains behind it, the interval, and the verdict of the retirement rule."""

    rule_id: str
    status: str
    """The rule's status in the archive (candidate, active, retired)."""
    shown_gains: list[float] = Field(default_factory=list)
    """Gains of candidates whose meta agent was shown the rule, in the order recorded."""
    hidden_gains: list[float] = Field(default_factory=list)
    """Gains of candidates it was hidden from."""
    lift: Interval | None = None
    """Mean shown gain minus mean hidden gain with its interval (None until each side has two gains)."""
    verdict: Verdict = "too few"
    """too few (not judged yet), hurts, useless, helps (interval above zero) or unclear."""
    reason: str = ""
    """The verdict in words, with the numbers behind it."""

    @property
    def shown(self) -> int:
        """Gains recorded while the rule was shown."""
        return len(self.shown_gains)

    @property
    def hidden(self) -> int:
        """Gains recorded while the rule was hidden."""
        return len(self.hidden_gains)

    @property
    def retire(self) -> bool:
        """Whether the retirement rule retires it (an active rule that hurts or is useless)."""
        return self.status == "active" and self.verdict in ("hurts", "useless")

    @classmethod
    def judge(
        cls,
        rule_id: str,
        status: str,
        shown: Sequence[float],
        hidden: Sequence[float],
        config: ReflectConfig,
        *,
        seed: int,
    ) -> RuleLift:
        """Measure and judge one rule from its gains (see the module docstring)."""
        out = cls(rule_id=rule_id, status=status, shown_gains=list(shown), hidden_gains=list(hidden))
        if len(shown) < 2 or len(hidden) < 2:
            out.reason = f"too few measured candidates: {len(shown)} shown, {len(hidden)} hidden"
            return out
        lift = difference_interval(shown, hidden, seed=stable_seed("agentkit-reflect/lift", seed, rule_id))
        out.lift = lift
        numbers = (
            f"lift {lift.mean:+.3f} [{lift.low:+.3f}, {lift.high:+.3f}] from {len(shown)} shown and "
            f"{len(hidden)} hidden candidates (paired gain over the main parent)"
        )
        need_shown = max(config.lift_min_shown, MIN_GROUP)
        need_hidden = max(config.lift_min_hidden, MIN_GROUP)
        band = config.lift_band
        if len(shown) < need_shown or len(hidden) < need_hidden:
            out.reason = f"{numbers}; not judged before {need_shown} shown and {need_hidden} hidden"
        elif lift.high < config.lift_min:
            out.verdict = "hurts"
            out.reason = f"hurts: {numbers}; the whole interval lies below {config.lift_min:+.3f}"
        elif (
            len(shown) + len(hidden) >= config.lift_patience
            and band > 0
            and -band <= lift.low <= lift.high <= band
        ):
            out.verdict = "useless"
            out.reason = (
                f"useless: {numbers}; after {len(shown) + len(hidden)} candidates the whole interval lies "
                f"within ±{band:.3f}"
            )
        elif lift.low > 0:
            out.verdict = "helps"
            out.reason = f"helps: {numbers}"
        else:
            out.verdict = "unclear"
            out.reason = f"unclear: {numbers}"
        return out


def rule_lifts(archive: Archive, config: ReflectConfig, *, seed: int) -> list[RuleLift]:
    """Every rule's measured lift from its ``lift`` events (paired gains only), in creation order."""
    gains: dict[str, tuple[list[float], list[float]]] = {}
    for event in archive.rule_events():
        if event.kind != "lift" or event.payload.get("measure") != MEASURE:
            continue
        score = event.payload.get("score")
        if not isinstance(score, int | float):
            continue
        shown, hidden = gains.setdefault(event.rule_id, ([], []))
        (shown if event.payload.get("shown") else hidden).append(float(score))
    out = []
    for rule in archive.rules():
        shown, hidden = gains.get(rule.id, ([], []))
        out.append(RuleLift.judge(rule.id, rule.status, shown, hidden, config, seed=seed))
    return out


def record_lift(
    archive: Archive, generation: int, *, shown: Sequence[str], hidden: Sequence[str]
) -> list[Gain]:
    """Record the gain of each candidate slot of `generation` for the rules `shown` to and `hidden` from
    its meta agent (one ``lift`` event per rule and candidate); returns the gains."""
    gains = gains_of(archive, slot_agents(archive, generation))
    if shown or hidden:
        for g in gains:
            detail = {
                "measure": MEASURE,
                "agent": g.agent_id,
                "parent": g.parent_id,
                "questions": g.questions,
            }
            archive.record_rule_lift(generation, g.gain, shown=shown, hidden=hidden, detail=detail)
    return gains


def lift_retirements(lifts: Iterable[RuleLift]) -> list[tuple[str, str]]:
    """Active rules the retirement rule retires, with the reason."""
    return [(r.rule_id, r.reason) for r in lifts if r.retire]
