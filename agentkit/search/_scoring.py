"""Scoring agents in the sandbox for the search: results land in the archive one by one (a finished
example is never run again), a budget refusal stops the run without storing what it may have damaged,
and every stored search-split evaluation is handed to the hooks exactly once.

Examples the provider left unscored (`ExampleResult.unscored`) are tried again after a pause, while the
pauses of `UNSCORED_PAUSES_S` last; an evaluation is only returned (and so stored, compared, selected or
reflected on) once every example has a score. If the provider stays down longer, the search stops with
a `SearchError` that says to resume: the agent is still "proposed" meanwhile (the report shows it
unscored, with the results it has so far), and ``--resume`` runs just its unscored examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from agentkit.errors import BudgetExceeded, SearchError
from agentkit.records import EvalResult, ExampleResult
from agentkit.search._hooks import CandidateOutcome

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord
    from agentkit.evaluate._runner import AgentRunner
    from agentkit.search._book import RunBook
    from agentkit.search._hooks import HookDispatcher, SearchContext
    from agentkit.search._progress import SearchProgress
    from agentkit.tasks import Example

HOOKS_DONE = "hooks_done"
"""Event that marks an agent's after-evaluation hooks as finished."""

UNSCORED = "unscored"
"""Event: the provider left examples of an agent unscored; they are tried again after a pause."""

UNSCORED_PAUSES_S: tuple[float, ...] = (5.0, 15.0, 30.0) + (60.0,) * 12
"""Pauses before each new try of the examples the provider left unscored (about 13 minutes in all, on
top of each model call's own retries, `ModelConfig.retry_for_s`); then the search stops, to resume."""


def is_budget_failure(result: ExampleResult) -> bool:
    """Whether the budget refused a model call of this example (the sandbox reports it as its own
    failure kind, so the result says nothing about the agent)."""
    return result.error is not None and result.error.kind == "budget"


class Scoring:
    """Evaluation of agents on the search and test splits, and the hooks after a search evaluation."""

    def __init__(
        self,
        ctx: SearchContext,
        book: RunBook,
        runner: AgentRunner,
        hooks: HookDispatcher,
        progress: SearchProgress,
        on_scored: Callable[[], None],
    ) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.archive = ctx.archive
        self.book = book
        self.runner = runner
        self.hooks = hooks
        self.progress = progress
        self._on_scored = on_scored

    async def evaluate(
        self,
        agent: AgentRecord,
        examples: Sequence[Example],
        *,
        split: str,
        screen_size: int | None,
        bar: float | None,
        generation: int,
    ) -> EvalResult:
        """Score `agent` on `examples` (resuming from the results stored for `split`). Raises
        BudgetExceeded when the budget refused a call meanwhile, even one the agent's code swallowed.
        Examples the provider left unscored are run again after pauses; SearchError when some are still
        unscored after the last pause (see the module docstring)."""
        from agentkit.evaluate import evaluate_agent

        book = self.book
        stored = self.archive.results(agent.id, split)
        done = {r.example_id: r for r in stored if not is_budget_failure(r) and not r.unscored}

        def on_result(result: ExampleResult) -> None:
            # A result that landed after the budget refused a call may be damaged by it: keep it out of
            # the archive, so a resumed run (with more budget) runs that example again.
            if book.refused is not None or is_budget_failure(result):
                return
            with book.step(generation):
                self.archive.record_results(agent.id, split, [result])

        async def attempt(given: dict[str, ExampleResult], screen: int | None) -> EvalResult:
            result = await evaluate_agent(
                agent.code,
                list(examples),
                self.ctx.task,
                client=self.ctx.client,
                model=self.ctx.agent_model,
                runner=self.runner,
                agent_name=agent.name,
                split=split,
                concurrency=self.config.concurrency,
                trace_chars=self.config.trace_chars,
                screen_size=screen,
                bar=bar,
                done=given,
                on_result=on_result,
                seed=self.config.seed,
                executor=book.executor,
            )
            if book.refused is not None or any(is_budget_failure(r) for r in result.results):
                raise book.refused or BudgetExceeded("the budget refused a model call of the agent")
            return result

        result = await attempt(done, screen_size or None)
        for pause in UNSCORED_PAUSES_S:
            missing = result.summary.unscored
            if not missing:
                return result
            first = next(r for r in result.results if r.unscored)
            reason = first.error.message if first.error is not None else "the provider failed"
            book.commit(generation, UNSCORED, {"agent": agent.id, "split": split, "unscored": missing})
            self.progress.log(
                f"g{generation}: the provider failed {missing} example(s) of {agent.id} ({reason}); "
                f"trying them again in {pause:g}s"
            )
            await asyncio.sleep(pause)
            # The unscored results in `done` run again; the cascade had no say (it never stops on them).
            result = await attempt({r.example_id: r for r in result.results}, None)
        if result.summary.unscored:
            raise SearchError(
                f"the model provider left {result.summary.unscored} example(s) of {agent.id} unscored for "
                f"{sum(UNSCORED_PAUSES_S) / 60:.0f} minutes; nothing was scored as wrong. Continue when it "
                f"answers again: agentkit search --resume <run dir>"
            )
        return result

    async def candidate(
        self, agent: AgentRecord, *, generation: int, bar: float | None, screen_size: int | None
    ) -> None:
        """Score a candidate on the search split (screening first when `screen_size`), store the
        evaluation, then run the hooks on it."""
        result = await self.evaluate(
            agent, self.ctx.examples, split="search", screen_size=screen_size, bar=bar, generation=generation
        )
        status: Literal["screened", "evaluated"] = "screened" if result.summary.stopped_early else "evaluated"
        acc = result.summary.accuracy
        payload = {
            "agent": agent.id,
            "status": status,
            "n": result.summary.n,
            "mean": acc.mean,
            "low": acc.low,
            "high": acc.high,
            "error_rate": result.summary.error_rate,
            "bar": bar,
        }
        with self.book.step(generation, "evaluated", payload):
            self.archive.record_evaluation(agent.id, result, split="search", status=status)
        self.progress.log(
            f"g{generation}: {agent.id} {agent.name!r} {status}: {acc.mean:.2f} [{acc.low:.2f}, {acc.high:.2f}]"
        )
        self._on_scored()
        await self.after_evaluation(self.archive.agent(agent.id), generation, result)

    async def after_evaluation(self, agent: AgentRecord, generation: int, result: EvalResult) -> None:
        """Run the hooks on a stored evaluation, then mark them done (a resumed run repeats them when
        the mark is missing; the hooks themselves skip what they had finished)."""
        outcome = CandidateOutcome(
            agent_id=agent.id,
            generation=generation,
            parents=list(agent.parents),
            status=agent.status,
            result=result,
            extra={"attempt": agent.meta.get("attempt", 0), "fix_of": agent.meta.get("fix_of")},
        )
        await self.hooks.after_evaluation(outcome)
        self.book.commit(generation, HOOKS_DONE, {"agent": agent.id})

    def hooks_done(self) -> set[str]:
        """Agents whose after-evaluation hooks have finished."""
        return {str(e.payload.get("agent")) for e in self.archive.events(HOOKS_DONE)}

    async def finish_hooks(self, agent: AgentRecord, generation: int) -> None:
        """Run the hooks of an agent evaluated by a session that stopped before they finished."""
        summary = agent.search_summary
        assert summary is not None
        stored = EvalResult(
            agent=agent.name,
            task=self.ctx.task.name,
            split="search",
            results=self.archive.results(agent.id, "search"),
            summary=summary,
        )
        await self.after_evaluation(agent, generation, stored)
