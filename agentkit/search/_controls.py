"""Controls of the search's own measurements: the proposal before self-review, kept and sometimes scored.

Every proposal that went through self-review keeps its version before the review in the reviewed agent's
meta (``pre_review``: whether the review changed the code, and the earlier name, thought and code when it
did). With `SearchConfig.review_check` = N, the first N proposals of a run whose code the review changed
also store that earlier version as an agent of origin ``control`` (meta ``control = "pre_review"``,
``pre_review_of`` = the reviewed agent), and score it on the search questions with the same cascade
(screening subset and bar) as its generation's candidates. Its results are stored under their own split
name, `REVIEW_SPLIT`, never ``search``: whatever reads search results (the pool of parents, the
inspirations, the finalists, the ensembles, the monitor, reflection) cannot see it, so a control is never
selected and never bred from. The report pairs it with the reviewed agent on the questions both were
scored on (reviewed minus before-review) to show whether review helps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from agentkit.records import clip
from agentkit.search._checks import code_problems

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.search._book import RunBook
    from agentkit.search._config import SearchConfig
    from agentkit.search._meta import Proposal
    from agentkit.search._progress import SearchProgress
    from agentkit.search._scoring import Scoring
    from agentkit.search._state import GenerationState, SlotState

CONTROL_ORIGIN: Literal["control"] = "control"
"""Origin of the control agents in the archive."""

PRE_REVIEW = "pre_review"
"""``meta["control"]`` of a proposal before self-review stored as a control agent."""

REVIEW_SPLIT = "review_check"
"""Split name under which a control's results on the search questions are stored."""


def pre_review_meta(before: Proposal, after: Proposal, rounds: int) -> dict[str, Any]:
    """What the reviewed agent keeps of its version before self-review: whether the review rounds changed
    the code, and that version's name, thought and code when they did."""
    changed = before.code != after.code
    meta: dict[str, Any] = {"rounds": rounds, "changed": changed}
    if changed:
        meta.update(name=before.name, thought=clip(before.thought, 2000), code=before.code)
    return meta


def review_controls(archive: Archive) -> list[AgentRecord]:
    """The proposals before self-review stored as control agents, oldest first."""
    return [a for a in archive.agents(origin=CONTROL_ORIGIN) if a.meta.get("control") == PRE_REVIEW]


def store_review_control(
    archive: Archive,
    config: SearchConfig,
    generation: int,
    slot: SlotState,
    before: Proposal,
    reviewed: AgentRecord,
) -> AgentRecord | None:
    """Store the version of `reviewed` before self-review as a control agent when the review changed its
    code and the run's `review_check` quota is not used up (call inside the step that stores
    `reviewed`); None otherwise."""
    if config.review_check <= 0 or not before.code or before.code == reviewed.code:
        return None
    if len(review_controls(archive)) >= config.review_check:
        return None
    meta: dict[str, Any] = {
        "control": PRE_REVIEW,
        "pre_review_of": reviewed.id,
        "slot": slot.slot,
        "attempt": 0,
        "form": before.form,
    }
    if before.workflow is not None:
        meta["workflow"] = before.workflow
    return archive.add_agent(
        before.name,
        before.code,
        thought=before.thought,
        parents=slot.parents,
        generation=generation,
        origin=CONTROL_ORIGIN,
        status="proposed",
        meta=meta,
    )


async def score_review_control(
    archive: Archive,
    book: RunBook,
    scoring: Scoring,
    progress: SearchProgress,
    state: GenerationState,
    slot: SlotState,
) -> None:
    """Score the slot's control agent (if any, and not scored yet) on the search questions under
    `REVIEW_SPLIT`, with the generation's screening subset and bar; a control that fails the static
    checks is marked failed. Resumable: stored results are not run again."""
    if slot.review_control is None:
        return
    control = archive.agent(slot.review_control)
    if control.status != "proposed":
        return
    generation = state.generation
    problems = code_problems(control.code)
    if problems:
        reason = "The code failed the static checks:\n" + "\n".join(f"- {p}" for p in problems)
        with book.step(generation, "review_control_failed", {"agent": control.id, "problems": problems}):
            archive.update_agent(control.id, meta={"failure": reason, "failure_kind": "static check"})
            archive.set_status(control.id, "failed")
        return
    result = await scoring.evaluate(
        control,
        scoring.ctx.examples,
        split=REVIEW_SPLIT,
        screen_size=state.settings.screen_size,
        bar=state.bar,
        generation=generation,
    )
    status: Literal["screened", "evaluated"] = "screened" if result.summary.stopped_early else "evaluated"
    acc = result.summary.accuracy
    payload = {
        "agent": control.id,
        "pre_review_of": control.meta.get("pre_review_of"),
        "status": status,
        "n": result.summary.n,
        "mean": acc.mean,
    }
    with book.step(generation, "review_control_scored", payload):
        archive.record_evaluation(control.id, result, split=REVIEW_SPLIT, status=status)
    progress.log(f"g{generation}: scored {control.id}, the proposal before review: {acc.mean:.2f}")
