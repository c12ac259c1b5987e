"""The end of a search: the finalists by search-split score, their one scoring on the sealed test split,
the selected agent with the reason for it, and the outcome a caller gets back.

The test split plays no part in the choice: finalists and the selected agent are ranked by the lower
bound of their search-split interval; the test scores are reported next to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentkit.search._selection import fully_scored, rank_key, score_line
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


class SeedComparison(BaseModel):
    """The selected agent against the best seed on the same sealed test questions."""

    seed_id: str
    """The best seed by search-split lower bound."""
    seed_name: str
    """Its name."""
    n: int
    """Test questions both were scored on (the pairs compared)."""
    selected_mean: float
    """Test mean of the selected agent on those questions."""
    seed_mean: float
    """Test mean of the best seed on those questions."""
    difference: float
    """Selected minus seed."""
    low: float
    """Lower bound of the 95% paired-bootstrap interval of the difference."""
    high: float
    """Upper bound of that interval."""
    p_value: float
    """Two-sided p-value for "no difference" (McNemar's exact test for 0/1 scores)."""
    verdict: str
    """One plain sentence: did the search beat the seeds this time."""


class EnsembleNote(BaseModel):
    """An ensemble or router built from the archive, as the final summary reports it."""

    id: str
    """Archive id."""
    kind: str
    """``vote`` or ``router``."""
    members: list[str]
    """The agents it calls."""
    search_mean: float | None = None
    """Mean on the search split (None when it was not scored)."""
    search_low: float | None = None
    """Lower bound of that interval."""
    calls_per_question: float | None = None
    """Model calls per question on the search split."""
    cost_per_question: float | None = None
    """Dollars per question on the search split, its replies from the cache counted at what its members
    paid for them (None where a price is unknown)."""
    selected: bool = False
    """Whether it was selected."""


class FinalSummary(BaseModel):
    """What ``run_state["final_summary"]`` holds."""

    selected: SelectedAgent | None = None
    reason: str = ""
    versus_seed: SeedComparison | None = None
    """The selected agent against the best seed on the sealed test (None without a test split)."""
    ensembles: list[EnsembleNote] = []
    """The ensembles and routers built at the end, and whether one was chosen."""


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
    evaluated = [a for a in archive.agents("evaluated") if fully_scored(a)]
    return sorted(evaluated, key=rank_key, reverse=True)[:top_k]


def best_seed(archive: Archive) -> AgentRecord | None:
    """The seed with the highest search-split lower bound (what the search has to beat)."""
    seeds = [a for a in archive.agents("evaluated", origin="seed") if a.search_summary is not None]
    return max(seeds, key=rank_key) if seeds else None


def _test_scored(archive: Archive, top_k: int) -> list[AgentRecord]:
    """Who is scored on the sealed test: the finalists, and the best seed so the selected agent can be
    compared with it on the same questions."""
    chosen = finalists(archive, top_k)
    seed = best_seed(archive)
    if chosen and seed is not None and seed.id not in {a.id for a in chosen}:
        chosen.append(seed)
    return chosen


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
    chosen = _test_scored(archive, config.top_k)
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
    n_evaluated = len([a for a in archive.agents("evaluated") if a.search_summary is not None])
    tied = [
        a.id
        for a in archive.agents("evaluated")
        if a.id != top.id
        and fully_scored(a)
        and a.search_summary is not None
        and a.search_summary.accuracy.low == s.accuracy.low
    ]
    tie = (
        f"; tied on it with {', '.join(tied)} (a tie goes to the higher mean, then to the older agent)"
        if tied
        else ""
    )
    reason = (
        f"Selected {top.id} {top.name!r}: the highest lower bound of the 95% interval on the search "
        f"split ({s.accuracy.low:.2f}; mean {s.accuracy.mean:.2f} on {s.n} questions) among "
        f"{n_evaluated} agents evaluated on the full search split{tie}. The test split played no part "
        "in the choice."
    )
    if t is not None:
        reason += (
            f" Scored once on the sealed test split: {t.accuracy.mean:.2f} "
            f"[{t.accuracy.low:.2f}, {t.accuracy.high:.2f}] on {t.n} questions."
        )
    if len(chosen) > 1:
        others = ", ".join(f"{a.id} ({score_line(a)})" for a in chosen[1:])
        reason += f" Runners-up by search score: {others}."
    ensembles = ensemble_notes(archive, top.id)
    if ensembles:
        reason += " " + _ensemble_sentence(ensembles, s.accuracy.low)
    versus = seed_comparison(archive, top)
    if versus is not None:
        reason += " " + versus.verdict
    return FinalSummary(selected=selected, reason=reason, versus_seed=versus, ensembles=ensembles)


def ensemble_notes(archive: Archive, selected_id: str) -> list[EnsembleNote]:
    """The ensembles of the run with their search scores and cost per question."""
    notes = []
    for agent in archive.agents(origin="ensemble"):
        s = agent.search_summary
        notes.append(
            EnsembleNote(
                id=agent.id,
                kind=str(agent.meta.get("ensemble", "vote")),
                members=list(agent.parents),  # an ensemble is stored with its members as parents
                search_mean=s.accuracy.mean if s else None,
                search_low=s.accuracy.low if s else None,
                calls_per_question=s.llm_calls / s.n if s and s.n else None,
                cost_per_question=_uncached_cost_per_question(archive, agent),
                selected=agent.id == selected_id,
            )
        )
    return notes


def _uncached_cost_per_question(archive: Archive, ensemble: AgentRecord) -> float | None:
    """What answering one question with `ensemble` costs, as if none of its calls were in the cache.

    Scored after its members, an ensemble gets most of their replies from the reply cache, free: its
    own cost would then put a vote of three agents below any of them. Each reply it took from the cache
    is counted at its members' average cost per call on the search split (an estimate: close for a
    vote, which calls every member as the member itself did). None where a price is unknown."""
    s = ensemble.search_summary
    if s is None or not s.n or s.cost_usd is None:
        return None
    cached = sum(call.cached for result in archive.results(ensemble.id, "search") for call in result.trace)
    if not cached:
        return s.cost_usd / s.n
    members = [archive.agent(m).search_summary for m in ensemble.parents]
    if any(m is None or m.cost_usd is None for m in members):
        return None
    calls = sum(m.llm_calls for m in members if m is not None)
    paid = sum(m.cost_usd or 0.0 for m in members if m is not None)
    per_call = paid / calls if calls else 0.0
    return (s.cost_usd + cached * per_call) / s.n


def _ensemble_sentence(notes: list[EnsembleNote], selected_low: float) -> str:
    parts = []
    for e in notes:
        if e.search_mean is None or e.search_low is None:
            parts.append(f"{e.id} ({e.kind} over {', '.join(e.members)}) was not scored")
            continue
        cost = f", ${e.cost_per_question:.4f}" if e.cost_per_question else ""
        parts.append(
            f"{e.id} ({e.kind} over {', '.join(e.members)}): {e.search_mean:.2f}, lower bound "
            f"{e.search_low:.2f}, {e.calls_per_question or 0:.1f} model calls per question{cost}"
        )
    chosen = [e.id for e in notes if e.selected]
    scored = [e.search_low for e in notes if e.search_low is not None]
    if chosen:
        verdict = f"{chosen[0]} was selected."
    else:
        which = {1: "It was not", 2: "Neither was"}.get(len(notes), "None was")
        whose = "its lower bound is" if len(notes) == 1 else "their lower bounds are"
        # at two decimals a tie reads as one: say so rather than call the selected agent's bound higher
        tied = any(f"{low:.2f}" == f"{selected_low:.2f}" for low in scored)
        how = "no higher than" if tied else "below"
        verdict = f"{which} selected: {whose} {how} the selected agent's ({selected_low:.2f})."
    return "Ensembles built from the archive: " + "; ".join(parts) + ". " + verdict


def seed_comparison(archive: Archive, selected: AgentRecord) -> SeedComparison | None:
    """The selected agent against the best seed on the test questions both were scored on."""
    from agentkit.tasks import paired_compare

    seed = best_seed(archive)
    if seed is None or selected.test_summary is None:
        return None
    if seed.id == selected.id:
        return _same_agent(seed)
    mine = {r.example_id: r.score for r in archive.results(selected.id, "test")}
    theirs = {r.example_id: r.score for r in archive.results(seed.id, "test")}
    common = sorted(set(mine) & set(theirs))
    if not common:
        return None
    cmp = paired_compare([mine[q] for q in common], [theirs[q] for q in common], seed=0)
    sig = cmp.p_value < 0.05
    if cmp.difference > 0 and sig:
        verdict = "The search beat the best seed this time"
    elif cmp.difference > 0:
        verdict = "The selected agent scored higher than the best seed, but not significantly: no clear win this time"
    elif cmp.difference == 0:
        verdict = "The search did not beat the best seed this time (the same test score)"
    else:
        verdict = "The search did not beat the best seed this time (the seed scored higher)"
    verdict += (
        f": on the same {len(common)} sealed test questions {selected.id} scored {cmp.mean_a:.2f} and "
        f"{seed.id} {seed.name!r} {cmp.mean_b:.2f}, difference {cmp.difference:+.2f} "
        f"[{cmp.interval.low:+.2f}, {cmp.interval.high:+.2f}], p = {cmp.p_value:.2f} ({cmp.method})."
    )
    return SeedComparison(
        seed_id=seed.id,
        seed_name=seed.name,
        n=len(common),
        selected_mean=cmp.mean_a,
        seed_mean=cmp.mean_b,
        difference=cmp.difference,
        low=cmp.interval.low,
        high=cmp.interval.high,
        p_value=cmp.p_value,
        verdict=verdict,
    )


def _same_agent(seed: AgentRecord) -> SeedComparison | None:
    t = seed.test_summary
    if t is None:
        return None
    return SeedComparison(
        seed_id=seed.id,
        seed_name=seed.name,
        n=t.n,
        selected_mean=t.accuracy.mean,
        seed_mean=t.accuracy.mean,
        difference=0.0,
        low=0.0,
        high=0.0,
        p_value=1.0,
        verdict=(
            f"The search did not beat the seeds this time: the selected agent is the seed {seed.id} "
            f"{seed.name!r} itself (no candidate had a higher search-split lower bound)."
        ),
    )


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
