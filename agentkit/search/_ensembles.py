"""Ensembles and routers from the archive, built at the end of a search before the sealed test.

Choosing the right strategy per question can be worth as much as inventing a new one. From the
correctness matrix on the search split, the most complementary evaluated agents are picked (greedy
coverage: the best agent, then whichever solves most of what the chosen ones still miss); over them
the search builds a majority vote and a router (one short classification call picks one agent per
question). Both are ordinary workflow agents: scored on the search split like any candidate, and
selected only by the same lower-bound rule, so an ensemble wins only when its interval says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentkit.search._candidate import workflow_sources
from agentkit.search._selection import rank_key

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.search._book import RunBook
    from agentkit.search._config import SearchConfig
    from agentkit.search._progress import SearchProgress
    from agentkit.search._scoring import Scoring
    from agentkit.tasks import Example

ENSEMBLES = "ensembles"
"""Key in ``run_state`` of the ids of the ensemble agents built (an empty list: none could be)."""
MEMBERS = 3
"""Agents in an ensemble: three, so that a vote can break a disagreement."""


def complementary_members(
    matrix: Mapping[str, Mapping[str, float]],
    ranking: Sequence[str],
    k: int = MEMBERS,
    *,
    costs: Mapping[str, float] | None = None,
    max_cost: float | None = None,
) -> list[str]:
    """Up to `k` agents that together solve the most questions: the first of `ranking` (the best by
    lower bound), then each time the agent solving most questions the chosen ones fail (ties: earlier in
    `ranking`). When nobody adds a question, the set is filled up from `ranking`. With `max_cost`, an
    agent is only taken while the members' `costs` (model calls per question) add up to at most that.

    >>> complementary_members({"a": {"q1": 1, "q2": 0}, "b": {"q1": 1, "q2": 0}, "c": {"q1": 0, "q2": 1}},
    ...                       ["a", "b", "c"], k=2)
    ['a', 'c']
    """
    chosen: list[str] = []
    spent = 0.0

    def affordable() -> list[str]:
        if max_cost is None:
            return [a for a in ranking if a in matrix and a not in chosen]
        price = costs or {}
        return [
            a for a in ranking if a in matrix and a not in chosen and spent + price.get(a, 0.0) <= max_cost
        ]

    solved: set[str] = set()
    while len(chosen) < k:
        ranked = affordable()
        if not ranked:
            break
        gains = [
            (sum(1 for q, s in matrix[a].items() if s >= 1.0 and q not in solved), -i, a)
            for i, a in enumerate(ranked)
        ]
        gain, _, best = max(gains)
        if not chosen or gain == 0:
            best = ranked[0]  # the best by lower bound leads; when nobody adds a question, fill up in order
        chosen.append(best)
        spent += (costs or {}).get(best, 0.0)
        solved |= {q for q, s in matrix[best].items() if s >= 1.0}
    return chosen


def _specs(members: Sequence[AgentRecord], solved: int, best_alone: int, n: int) -> list[dict[str, Any]]:
    names = ", ".join(f"{a.id} ({a.name})" for a in members)
    why = (
        f"Together {', '.join(a.id for a in members)} solve {solved} of {n} search questions; the best "
        f"of them alone solves {best_alone}."
    )
    ids = [a.id for a in members]
    vote = {
        "name": f"Vote of {' + '.join(ids)}",
        "thought": f"A majority vote over the most complementary agents: {names}. {why}",
        "steps": [*({"op": "call_agent", "agent_id": i} for i in ids), {"op": "vote"}],
    }
    router = {
        "name": f"Router over {' / '.join(ids)}",
        "thought": f"One short call sends each question to the agent most likely to solve it: {names}. {why}",
        "steps": [{"op": "route", "agent_ids": ids}],
    }
    return [vote, router]


def build_ensembles(archive: Archive, generation: int, *, max_calls: float | None = None) -> list[str]:
    """Store a vote and a router over the most complementary evaluated agents, whose measured model calls
    per question add up to at most `max_calls`; their ids (none when fewer than two such agents were
    evaluated on the full search split)."""
    from agentkit.workflow import WorkflowSpec, render_workflow

    evaluated = [a for a in archive.agents("evaluated") if a.origin != "ensemble" and a.search_summary]
    ranking = [a.id for a in sorted(evaluated, key=rank_key, reverse=True)]
    matrix = archive.correctness_matrix("search", agent_ids=ranking)
    costs = {
        a.id: a.search_summary.llm_calls / a.search_summary.n
        for a in evaluated
        if a.search_summary and a.search_summary.n
    }
    chosen = complementary_members(matrix, ranking, costs=costs, max_cost=max_calls)
    members = [archive.agent(a) for a in chosen]
    if len(members) < 2:
        return []
    solved = {q for a in members for q, s in matrix[a.id].items() if s >= 1.0}
    best_alone = max(sum(1 for s in matrix[a.id].values() if s >= 1.0) for a in members)
    n = max(len(matrix[a.id]) for a in members)
    ids = []
    for data in _specs(members, len(solved), best_alone, n):
        if data["steps"][0]["op"] == "call_agent" and len(members) < MEMBERS:
            continue  # a vote of two is the first agent's answer whenever they disagree
        spec = WorkflowSpec.model_validate(data)
        code = render_workflow(spec, workflow_sources(archive, spec.agent_ids()))
        kind = "vote" if spec.steps[-1].op == "vote" else "router"
        agent = archive.add_agent(
            spec.name,
            code,
            thought=spec.thought,
            parents=[a.id for a in members],
            generation=generation,
            origin="ensemble",
            meta={"form": "workflow", "workflow": spec.model_dump(mode="json"), "ensemble": kind},
        )
        ids.append(agent.id)
    return ids


async def ensemble_phase(
    config: SearchConfig,
    archive: Archive,
    book: RunBook,
    scoring: Scoring,
    progress: SearchProgress,
    examples: Sequence[Example],
) -> None:
    """Build the ensembles once, then score each on the full search split (resuming where a killed run
    stopped). No screening and no hooks: they are built, not proposed, so there is nothing to reflect on."""
    if not config.ensembles:
        return
    generation = int(archive.get_state("generations_done", 0)) + 1
    book.generation = generation
    ids = archive.get_state(ENSEMBLES)
    if ids is None:
        with book.step(generation, "ensembles_built") as event:
            ids = build_ensembles(archive, generation, max_calls=config.ensemble_max_calls)
            archive.set_state(ENSEMBLES, ids)
            event.update(agents=ids)
        if ids:
            progress.log(f"built {len(ids)} ensemble agents from the archive: {', '.join(ids)}")
    for agent_id in ids:
        agent = archive.agent(agent_id)
        if agent.status == "evaluated":
            continue
        progress.update(phase=f"scoring ensemble {agent_id}")
        result = await scoring.evaluate(
            agent, examples, split="search", screen_size=None, bar=None, generation=generation
        )
        acc = result.summary.accuracy
        payload = {"agent": agent.id, "status": "evaluated", "n": result.summary.n, "mean": acc.mean}
        payload |= {"low": acc.low, "high": acc.high, "error_rate": result.summary.error_rate}
        with book.step(generation, "evaluated", payload):
            archive.record_evaluation(agent.id, result, split="search", status="evaluated")
        progress.log(f"ensemble {agent.id} {agent.name!r}: {acc.mean:.2f} [{acc.low:.2f}, {acc.high:.2f}]")
