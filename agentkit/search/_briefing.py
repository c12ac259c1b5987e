"""What the meta agent sees: the pool of scored agents, the parents and inspirations chosen from it,
their cards (thought, code, score, failed questions) and the bounded meta prompt built from them.

Everything here is a pure function of the archive and the run's settings (results are read in the
order of the search split, never in the order they finished), so a resumed or repeated run asks the
meta agent exactly the same thing: a cache hit and the same agent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agentkit.search._prompt import AgentCard, FailureExample, build_meta_prompt
from agentkit.search._selection import (
    ScoredAgent,
    SelectionResult,
    fully_scored,
    rank_key,
    score_line,
    select_parents,
)

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord
    from agentkit.records import ExampleResult
    from agentkit.search._hooks import SearchContext
    from agentkit.search._state import SlotState

SCORED = ("screened", "evaluated")
"""Statuses of agents with search-split results."""


class MetaBriefing:
    """Builds what the meta agent is shown for one candidate. `manual(generation)` gives the guidance
    of the hooks (the rule manual), asked only when the run shows a manual."""

    def __init__(self, ctx: SearchContext, manual: Callable[[int], str]) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.archive = ctx.archive
        self._manual = manual
        self.by_id = {e.id: e for e in ctx.examples}
        """The search examples by id."""
        self._rank = {e.id: i for i, e in enumerate(ctx.examples)}
        self._runtime_api: str | None = None

    # --- the pool and selection --------------------------------------------------------------------------

    def pool(self, before_generation: int, *, evaluated_only: bool = False) -> list[ScoredAgent]:
        """Agents with search-split results from earlier generations (fixed for the whole generation);
        with `evaluated_only`, only those scored on the full search split."""
        wanted = ("evaluated",) if evaluated_only else SCORED
        agents = [
            a
            for a in self.archive.agents()
            if a.generation < before_generation and a.status in wanted and fully_scored(a)
        ]
        matrix = self.archive.correctness_matrix("search", agent_ids=[a.id for a in agents])
        pool = []
        for a in agents:
            summary = a.search_summary
            assert summary is not None
            pool.append(
                ScoredAgent(
                    id=a.id,
                    name=a.name,
                    low=summary.accuracy.low,
                    mean=summary.accuracy.mean,
                    correct={e: s >= 1.0 for e, s in matrix.get(a.id, {}).items()},
                    generation=a.generation,
                )
            )
        return pool

    def select(
        self, pool: Sequence[ScoredAgent], generation: int, slot: int, inspirations: int
    ) -> SelectionResult:
        """Parents and inspirations of candidate `slot` of `generation` (seeded by both, so a resumed run
        chooses the same); in complementary mode the second parent is the random control partner in
        the share `control_share` of slots (`uses_control`)."""
        c = self.config
        return select_parents(
            pool,
            mode=c.selection,
            rng=random.Random(f"agentkit-search/{c.seed}/{generation}/{slot}"),
            tournament_size=c.tournament_size,
            inspirations=inspirations,
            use_control=uses_control(c.seed, generation, slot, c.control_share),
        )

    # --- cards -------------------------------------------------------------------------------------------

    def split_order(self, results: Sequence[ExampleResult]) -> list[ExampleResult]:
        """`results` in the order of the search split. The archive holds them in the order they
        finished, which concurrency makes vary: prompts built from them must not, or a resumed or
        repeated run would ask the meta agent something new (a cache miss and a different agent)."""
        rank = self._rank
        return sorted(results, key=lambda r: (rank.get(r.example_id, len(rank)), r.example_id))

    def failures(self, agent: AgentRecord) -> tuple[FailureExample, ...]:
        """The failed questions shown with a parent: agent-code errors first (they teach most), then
        wrong answers, in split order."""
        wanted = self.config.prompt.failures
        if wanted <= 0:
            return ()
        picked: list[FailureExample] = []
        results = sorted(
            self.split_order(self.archive.results(agent.id, "search")), key=lambda r: r.error is None
        )
        for r in results:
            if r.score >= 1.0 or len(picked) >= wanted:
                continue
            example = self.by_id.get(r.example_id)
            if example is None:
                continue
            picked.append(
                FailureExample(
                    question=example.input,
                    target=example.target,
                    answer=r.answer,
                    error=f"{r.error.kind}: {r.error.message}" if r.error else None,
                )
            )
        return tuple(picked)

    def cards(self, slot: SlotState) -> list[AgentCard]:
        """The parents (main parent first, with their failures) and inspirations of `slot`."""
        cards = []
        for index, agent_id in enumerate([*slot.parents, *slot.inspirations]):
            agent = self.archive.agent(agent_id)
            is_parent = index < len(slot.parents)
            label = ("Main parent" if index == 0 else "Partner") if is_parent else "Also shown"
            cards.append(
                AgentCard(
                    id=agent.id,
                    name=agent.name,
                    generation=agent.generation,
                    thought=agent.thought,
                    code=shown_code(agent, slot.form),
                    score=score_line(agent),
                    label=label,
                    failures=self.failures(agent) if is_parent else (),
                )
            )
        return cards

    def partner_gain(self, parents: Sequence[str]) -> int | None:
        """Questions the second parent solves that the first fails (None with fewer than two)."""
        if len(parents) < 2:
            return None
        matrix = self.archive.correctness_matrix("search", agent_ids=list(parents[:2]))
        first, second = matrix.get(parents[0], {}), matrix.get(parents[1], {})
        return sum(1 for e, s in second.items() if s >= 1.0 and e in first and first[e] < 1.0)

    # --- the prompt --------------------------------------------------------------------------------------

    def runtime_reference(self) -> str:
        """The reference of the runtime API agents are written against (read once)."""
        if self._runtime_api is None:
            from agentkit._resources import read_prompt

            self._runtime_api = read_prompt("runtime_api.md")
        return self._runtime_api

    def callable_agents(self, generation: int) -> list[AgentRecord]:
        """The archive agents a workflow of `generation` may call: those scored on the full search split
        before it, best lower bound first (at most eight, to keep the prompt and the grammar small)."""
        pool = {a.id for a in self.pool(generation, evaluated_only=True)}
        agents = [a for a in self.archive.agents("evaluated") if a.id in pool]
        return sorted(agents, key=rank_key, reverse=True)[:8]

    def meta_prompt(self, slot: SlotState, generation: int) -> list[dict[str, str]]:
        """The bounded prompt for a candidate with the parents and inspirations of `slot`."""
        c = self.config
        task = self.ctx.task
        callable_agents = "none (archive calls are off in this run)"
        if slot.form == "workflow" and c.workflow_calls:
            callable_agents = ", ".join(
                f"{a.id} ({a.name}, {score_line(a)})" for a in self.callable_agents(generation)
            )
        return build_meta_prompt(
            form=slot.form,
            callable_agents=callable_agents,
            first_operator=c.first_operator(generation, slot.slot),
            max_calls=c.workflow_max_calls,
            runtime_api=self.runtime_reference(),
            task_description=task.description,
            answer_format=task.answer_format,
            cards=self.cards(slot),
            manual=self._manual(generation) if c.reflect.manual else "",
            partner_gain=self.partner_gain(slot.parents),
            limits=c.prompt,
        )


def uses_control(seed: int, generation: int, slot: int, share: float) -> bool:
    """Whether candidate `slot` of `generation` is bred from the random control partner: a draw below
    `share` from a generator seeded by (seed, generation, slot), its own stream so that the parents and
    inspirations drawn for the slot stay what they were, and a resumed run draws the same."""
    if share <= 0:
        return False
    return random.Random(f"agentkit-search/control/{seed}/{generation}/{slot}").random() < share


def shown_code(agent: AgentRecord, form: str) -> str:
    """How an agent is shown to the meta agent: a workflow agent as its spec when a workflow is asked
    for (a small model copies what it sees), else as code."""
    spec = agent.meta.get("workflow")
    if form == "workflow" and isinstance(spec, dict):
        return json.dumps({"name": agent.name, "steps": spec.get("steps", [])}, ensure_ascii=False)
    return agent.code
