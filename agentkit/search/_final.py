"""The end of a search: the finalists by search-split score, their one scoring on the sealed test split,
the selected agent with the reason for it, and the outcome a caller gets back.

The test split plays no part in the choice: finalists and the selected agent are ranked by the lower
bound of their search-split interval; the test scores are reported next to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentkit.search._selection import rank_key, score_line
from agentkit.search._state import StopStatus

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.search._book import RunBook
    from agentkit.search._config import SearchConfig
    from agentkit.search._progress import SearchProgress
    from agentkit.search._scoring import Scoring
    from agentkit.tasks import Example

FINAL_SUMMARY = "final_summary"
"""Key in ``run_state`` of which agent was selected and why (once finished)."""


class SelectedAgent(BaseModel):
    """The agent a run selected, with both of its scores."""

    id: str
    """Archive id."""
    name: str
    """Agent name."""
    search_mean: float
    """Mean accuracy on the search split."""
    search_low: float
    """Lower bound of the search-split interval (what selection ranks by)."""
    search_high: float
    """Upper bound of the search-split interval."""
    test_mean: float | None = None
    """Mean accuracy on the sealed test split (None when it was not scored)."""
    test_low: float | None = None
    """Lower bound of the test-split interval."""
    test_high: float | None = None
    """Upper bound of the test-split interval."""


class FinalSummary(BaseModel):
    """What ``run_state["final_summary"]`` holds."""

    selected: SelectedAgent | None = None
    reason: str = ""


class SearchOutcome(BaseModel):
    """How a search run ended."""

    run_dir: str
    """The run directory."""
    status: StopStatus
    """finished, interrupted (Ctrl-C) or budget_exhausted."""
    generations_done: int
    """Generations fully stored."""
    agents: int
    """Agents in the archive (every status)."""
    agents_by_status: dict[str, int]
    """Agents per status (proposed, failed, screened, evaluated)."""
    selected: SelectedAgent | None = None
    """The agent chosen by search-split score (None before the final step ran)."""
    reason: str = ""
    """Why that agent was selected, or why the run stopped."""
    spent: dict[str, Any] = {}
    """Calls, tokens and dollars of the whole run (all sessions)."""


def finalists(archive: Archive, top_k: int) -> list[AgentRecord]:
    """The `top_k` agents evaluated on the full search split, best first."""
    evaluated = [a for a in archive.agents("evaluated") if a.search_summary is not None]
    return sorted(evaluated, key=rank_key, reverse=True)[:top_k]


async def final_phase(
    config: SearchConfig,
    archive: Archive,
    book: RunBook,
    scoring: Scoring,
    progress: SearchProgress,
    load_test: Callable[[], list[Example]],
) -> None:
    """Score the finalists once on the sealed test split (skipping those already scored), then store
    the selection and finish the run."""
    progress.update(phase="final test scoring")
    generation = int(archive.get_state("generations_done", 0))
    book.generation = generation
    chosen = finalists(archive, config.top_k)
    if chosen and config.test_size > 0:
        test_examples = load_test()
        for agent in chosen:
            if agent.test_summary is not None:
                continue
            progress.slot("test", f"scoring {agent.id} on the test split")
            result = await scoring.evaluate(
                agent, test_examples, split="test", screen_size=None, bar=None, generation=generation
            )
            payload = {"agent": agent.id, "mean": result.summary.accuracy.mean, "n": result.summary.n}
            with book.step(generation, "test_scored", payload):
                archive.record_evaluation(agent.id, result, split="test")
            progress.slot("test", None)
    summary = selection_summary(archive, config.top_k)
    stored = summary.model_dump(mode="json")
    book.commit(
        generation,
        "search_finished",
        {**stored, "spent": book.spent()},
        state={"phase": "done", "status": "finished", FINAL_SUMMARY: stored},
    )
    progress.log(summary.reason)


def selection_summary(archive: Archive, top_k: int) -> FinalSummary:
    """The selected agent (highest search-split lower bound) and why, with the runners-up."""
    chosen = [archive.agent(a.id) for a in finalists(archive, top_k)]
    if not chosen:
        return FinalSummary(
            reason=(
                "No agent was selected: no agent was evaluated on the full search split "
                "(every candidate failed or was stopped at screening)."
            )
        )
    top = chosen[0]
    s = top.search_summary
    assert s is not None
    t = top.test_summary
    selected = SelectedAgent(
        id=top.id,
        name=top.name,
        search_mean=s.accuracy.mean,
        search_low=s.accuracy.low,
        search_high=s.accuracy.high,
        test_mean=t.accuracy.mean if t else None,
        test_low=t.accuracy.low if t else None,
        test_high=t.accuracy.high if t else None,
    )
    n_evaluated = len(archive.agents("evaluated"))
    reason = (
        f"Selected {top.id} {top.name!r}: the highest lower bound of the 95% interval on the search "
        f"split ({s.accuracy.low:.2f}; mean {s.accuracy.mean:.2f} on {s.n} questions) among "
        f"{n_evaluated} agents evaluated on the full search split. The test split played no part in "
        "the choice."
    )
    if t is not None:
        reason += (
            f" Scored once on the sealed test split: {t.accuracy.mean:.2f} "
            f"[{t.accuracy.low:.2f}, {t.accuracy.high:.2f}] on {t.n} questions."
        )
    if len(chosen) > 1:
        others = ", ".join(f"{a.id} ({score_line(a)})" for a in chosen[1:])
        reason += f" Runners-up by search score: {others}."
    return FinalSummary(selected=selected, reason=reason)


def outcome(archive: Archive, status: StopStatus, spent: dict[str, Any]) -> SearchOutcome:
    """The run's outcome as stored in the archive."""
    agents = archive.agents()
    by_status: dict[str, int] = {}
    for a in agents:
        by_status[a.status] = by_status.get(a.status, 0) + 1
    final = FinalSummary.model_validate(archive.get_state(FINAL_SUMMARY) or {})
    if status == "finished":
        reason = final.reason
    elif status == "budget_exhausted":
        reason = (
            "The budget ran out; the archive holds everything finished. Resume with a larger budget "
            f"(agentkit search --resume {archive.run_dir} --budget-...)."
        )
    else:
        reason = f"Interrupted; continue with: agentkit search --resume {archive.run_dir}"
    return SearchOutcome(
        run_dir=str(archive.run_dir),
        status=status,
        generations_done=int(archive.get_state("generations_done", 0)),
        agents=len(agents),
        agents_by_status=by_status,
        selected=final.selected,
        reason=reason,
        spent=spent,
    )
