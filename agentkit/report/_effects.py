"""What the search's components were measured to do in a run, with intervals and the samples behind them:
the lift of each rule of the manual, complementary against random partners, and self-review.

Every figure pairs scores on the same questions before comparing anything:
- rule lift (`agentkit.reflect.rule_lifts`): each candidate's gain over its main parent on the questions
  both were scored on; a rule's lift is the mean gain of candidates shown the rule minus that of candidates
  it was hidden from, with a bootstrap interval over candidates, and the verdict of the retirement rule;
- partners: the same gains, grouped by how the second parent was chosen (the complementary partner, or the
  random control bred from in the share `control_share` of slots): each group's mean gain with a
  bootstrap interval over its candidates, and complementary minus random with a two-group bootstrap;
- self-review: each proposal before review that was scored (`review_check`) against the reviewed agent on
  the questions both were scored on, reviewed minus before review, per question, pooled over the pairs
  (`agentkit.tasks.paired_compare`: a paired bootstrap interval and McNemar's test for 0/1 scores).
  A side that failed before it ran counts as 0 on the other side's questions; a reviewed agent rejected
  as a duplicate has the scores of the agent it copies. The interval covers question noise; with few pairs
  it says little about the next proposal, which is why the number of pairs is shown beside it.

Rules carried over from another run (``--manual-from``) are listed apart as well: which survived and
which were retired and why, with their lift measured here (`imported_rules`).

Runs from before these measurements show zero samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agentkit.archive import RuleOrigin
from agentkit.errors import ArchiveError
from agentkit.records import Interval, clip

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.reflect import ReflectConfig

MIN_SAMPLES = 2
"""Samples a mean needs before an interval is given (one value has no spread to resample)."""


class RuleEffect(BaseModel):
    """One rule's measured lift."""

    rule_id: str
    status: str
    """candidate, active or retired."""
    text: str
    """The rule (clipped)."""
    shown: int
    """Candidates measured while the rule was shown to the meta agent."""
    hidden: int
    """Candidates measured while it was hidden."""
    shown_gain: float | None = None
    """Their mean gain over the main parent while shown."""
    hidden_gain: float | None = None
    """... while hidden."""
    lift: Interval | None = None
    """shown_gain - hidden_gain with its interval (None with fewer than two candidates on a side)."""
    verdict: str
    """too few, hurts, useless, helps or unclear (what the retirement rule makes of it)."""
    reason: str
    """The verdict with its numbers."""


class ImportedRule(BaseModel):
    """A rule carried over from another run (``--manual-from``), and what became of it in this one."""

    rule_id: str
    """Its id in this run."""
    origin: RuleOrigin
    """The run it came from, its id and its lift there."""
    type: str
    """Its type."""
    text: str
    """The rule as it reads now (clipped; the builder may have reworded it)."""
    status: str
    """active (it survived) or retired."""
    retired_reason: str = ""
    """Why it was retired (its lift, staleness, the builder, a merge, the cap); "" while active."""
    retired_generation: int | None = None
    """The generation in which it was retired."""
    shown: int = 0
    """Candidates measured while it was shown to the meta agent in this run."""
    hidden: int = 0
    """Candidates measured while it was hidden."""
    lift: Interval | None = None
    """Its lift in this run with its interval (None with fewer than two candidates on a side)."""
    verdict: str = "too few"
    """What the retirement rule makes of that lift."""

    @property
    def survived(self) -> bool:
        """Still active at the end (or so far)."""
        return self.status == "active"


class GroupGain(BaseModel):
    """The gain over the main parent of a group of candidates."""

    n: int
    """Candidates in the group."""
    questions: int
    """Questions paired with the parent, summed over the group."""
    gain: Interval | None = None
    """Mean gain with a bootstrap interval over the candidates (None with fewer than two)."""


class PartnerEffect(BaseModel):
    """Complementary against random second parents."""

    control_share: float | None = None
    """The run's share of slots bred from the random control (None when the run stored none)."""
    complementary: GroupGain
    random: GroupGain
    difference: Interval | None = None
    """Complementary minus random mean gain (None with fewer than two candidates in a group)."""


class ReviewEffect(BaseModel):
    """Whether self-review helped: reviewed agents against their proposals before review."""

    reviewed: int
    """Proposals that went through self-review."""
    changed: int
    """Of those, proposals whose code the review changed."""
    pairs: int
    """Proposals before review that were scored and paired with the reviewed agent."""
    questions: int
    """Paired questions over all pairs (the samples behind the interval)."""
    reviewed_mean: float | None = None
    """Mean score of the reviewed agents on the paired questions."""
    before_mean: float | None = None
    """Mean score of the proposals before review on the same questions."""
    effect: Interval | None = None
    """Reviewed minus before review, per question (None with fewer than two paired questions)."""
    p_value: float | None = None
    """Two-sided p-value of the paired comparison."""


class Effects(BaseModel):
    """Every measured effect of a run."""

    rules: list[RuleEffect] = Field(default_factory=list)
    partners: PartnerEffect
    review: ReviewEffect
    imported: list[ImportedRule] = Field(default_factory=list)
    """Rules carried over from another run (``--manual-from``): which survived, which were retired and
    why, each with its lift measured in this run."""


def run_effects(archive: Archive) -> Effects:
    """The measured effects of a run (see the module docstring)."""
    settings = _search_settings(archive)
    seed = int(settings.get("seed") or 0)
    reflect = _reflect_config(settings)
    rule_seed = seed if reflect.seed is None else reflect.seed
    return Effects(
        rules=rule_effects(archive, reflect, seed=rule_seed),
        partners=partner_effect(archive, seed=seed, share=settings.get("control_share")),
        review=review_effect(archive, seed=seed),
        imported=imported_rules(archive, reflect, seed=rule_seed),
    )


def _search_settings(archive: Archive) -> dict[str, Any]:
    stored = archive.config.get("search")
    return dict(stored) if isinstance(stored, dict) else {}


def _reflect_config(settings: dict[str, Any]) -> ReflectConfig:
    from agentkit.reflect import ReflectConfig

    try:
        return ReflectConfig.model_validate(settings.get("reflect") or {})
    except ValueError:
        return ReflectConfig()


def rule_effects(archive: Archive, config: ReflectConfig, *, seed: int) -> list[RuleEffect]:
    """Each rule's lift, interval, samples and verdict (rules never shown or hidden are left out)."""
    from agentkit.reflect import rule_lifts

    texts = {r.id: r.text for r in archive.rules()}
    out = []
    for lift in rule_lifts(archive, config, seed=seed):
        if not lift.shown and not lift.hidden:
            continue
        out.append(
            RuleEffect(
                rule_id=lift.rule_id,
                status=lift.status,
                text=clip(texts.get(lift.rule_id, ""), 160),
                shown=lift.shown,
                hidden=lift.hidden,
                shown_gain=_mean(lift.shown_gains),
                hidden_gain=_mean(lift.hidden_gains),
                lift=lift.lift,
                verdict=lift.verdict,
                reason=lift.reason,
            )
        )
    return out


def imported_rules(archive: Archive, config: ReflectConfig, *, seed: int) -> list[ImportedRule]:
    """Every rule the run imported from another run's manual: its fate and its lift here."""
    from agentkit.reflect import rule_lifts

    imported = [r for r in archive.rules() if r.imported_from is not None]
    if not imported:
        return []
    lifts = {lift.rule_id: lift for lift in rule_lifts(archive, config, seed=seed)}
    out = []
    for rule in imported:
        assert rule.imported_from is not None
        lift = lifts.get(rule.id)
        item = ImportedRule(
            rule_id=rule.id,
            origin=rule.imported_from,
            type=rule.type,
            text=clip(rule.text, 160),
            status=rule.status,
        )
        if lift is not None:
            item.shown, item.hidden, item.lift, item.verdict = (
                lift.shown,
                lift.hidden,
                lift.lift,
                lift.verdict,
            )
        if rule.status == "retired":
            for event in archive.rule_events(rule.id):
                if event.kind == "status" and event.payload.get("to") == "retired":
                    item.retired_reason = str(event.payload.get("reason", ""))
                    item.retired_generation = event.generation
        out.append(item)
    return out


def partner_effect(archive: Archive, *, seed: int, share: Any = None) -> PartnerEffect:
    """Gains of candidates bred with the complementary partner against those bred with the random one."""
    from agentkit.reflect import difference_interval, gains_of, slot_agents

    generations = sorted({a.generation for a in archive.agents(origin="meta")})
    slots: list[AgentRecord] = [a for g in generations for a in slot_agents(archive, g)]
    kinds = {a.id: a.meta.get("partner") for a in slots}
    groups: dict[str, list[tuple[float, int]]] = {"complementary": [], "random": []}
    for gain in gains_of(archive, [a for a in slots if kinds[a.id] in groups]):
        groups[str(kinds[gain.agent_id])].append((gain.gain, gain.questions))
    comp, rand = ([g for g, _ in groups[k]] for k in ("complementary", "random"))
    difference = None
    if len(comp) >= MIN_SAMPLES and len(rand) >= MIN_SAMPLES:
        difference = difference_interval(comp, rand, seed=_seed("partners", seed))
    return PartnerEffect(
        control_share=float(share) if isinstance(share, int | float) else None,
        complementary=_group(groups["complementary"], seed, "complementary"),
        random=_group(groups["random"], seed, "random"),
        difference=difference,
    )


def review_effect(archive: Archive, *, seed: int) -> ReviewEffect:
    """Reviewed agents against their scored proposals before review, per paired question."""
    from agentkit.search import REVIEW_SPLIT, review_controls
    from agentkit.tasks import paired_compare

    reviewed = [a for a in archive.agents(origin="meta") if isinstance(a.meta.get("pre_review"), dict)]
    changed = sum(1 for a in reviewed if a.meta["pre_review"].get("changed"))
    after: list[float] = []
    before: list[float] = []
    pairs = 0
    for control in review_controls(archive):
        if control.status == "proposed":
            continue  # not scored yet (a run in progress)
        try:
            agent = archive.agent(str(control.meta.get("pre_review_of")))
        except ArchiveError:  # an archive edited by hand: skip the pair
            continue
        source = str(agent.meta.get("duplicate_of") or agent.id)
        mine = {r.example_id: r.score for r in archive.results(source, "search")}
        theirs = {r.example_id: r.score for r in archive.results(control.id, REVIEW_SPLIT)}
        shared = _paired(mine, theirs, agent.status == "failed", control.status == "failed")
        if not shared:
            continue
        pairs += 1
        after.extend(mine.get(q, 0.0) for q in shared)
        before.extend(theirs.get(q, 0.0) for q in shared)
    out = ReviewEffect(reviewed=len(reviewed), changed=changed, pairs=pairs, questions=len(after))
    if len(after) >= MIN_SAMPLES:
        cmp = paired_compare(after, before, seed=_seed("review", seed))
        out.reviewed_mean, out.before_mean = cmp.mean_a, cmp.mean_b
        out.effect, out.p_value = cmp.interval, cmp.p_value
    return out


def _paired(a: dict[str, float], b: dict[str, float], a_failed: bool, b_failed: bool) -> list[str]:
    """The questions a pair is compared on: both sides' shared questions; when one side failed before it
    ran (no scores), the other side's questions (it counts as 0 on them)."""
    if a and b:
        return [q for q in a if q in b]
    if not a and a_failed and b:
        return list(b)
    if not b and b_failed and a:
        return list(a)
    return []


def _group(values: list[tuple[float, int]], seed: int, label: str) -> GroupGain:
    from agentkit.tasks import bootstrap_ci

    gains = [g for g, _ in values]
    out = GroupGain(n=len(gains), questions=sum(q for _, q in values))
    if len(gains) >= MIN_SAMPLES:
        out.gain = bootstrap_ci(gains, seed=_seed(label, seed))
    return out


def _seed(label: str, seed: int) -> int:
    from agentkit.reflect._lift import stable_seed

    return stable_seed("agentkit-report/effects", label, seed)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
