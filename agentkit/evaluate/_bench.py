"""Several agents on several tasks, compared per task with a baseline: a transfer table like ADAS's.

ADAS reports agents found on one task (e.g. MGSM) on others (GSM8K, GSM-Hard, SVAMP, ASDiv) next to
chain of thought. `bench` does that: every agent answers the same first `limit` examples of every task,
each (agent, task) gets its mean score with the interval of `agentkit.tasks.score_interval`, and every
agent but the baseline gets a paired comparison with it on each task (`agentkit.tasks.paired_compare`:
McNemar's exact test for 0/1 scores, the paired bootstrap for partial credit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agentkit.errors import ConfigError
from agentkit.evaluate._agent_file import AgentSpec
from agentkit.evaluate._evaluator import evaluate_agent
from agentkit.records import EvalResult, EvalSummary, ExampleResult
from agentkit.tasks._stats import PairedComparison

if TYPE_CHECKING:
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.evaluate._runner import AgentRunner
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.tasks import Task

BASELINE_SEED = "cot"
"""The baseline when none is named and the agents include this seed (chain of thought, as in ADAS)."""


class BenchRow(BaseModel):
    """One agent on one task."""

    agent: str
    """The agent's name (unique within the table)."""
    summary: EvalSummary
    """Mean score with its interval, errors, calls, tokens, cost and latency."""
    scores: list[float]
    """Per-example scores, in the task's example order (what the paired test compares; 0.0 for an example
    the provider left unscored, see `summary.unscored`)."""
    vs_baseline: PairedComparison | None = None
    """This agent against the baseline on the same examples, those both have a score for; None for the
    baseline itself (or when they have none in common)."""


class BenchTask(BaseModel):
    """Every agent on one task."""

    task: str
    """The task's name."""
    n: int
    """Examples each agent answered (the task's first ones)."""
    scorer: str
    """The scorer's name (``f1`` and Python scorers give partial credit)."""
    rows: list[BenchRow]
    """One row per agent, in the order the agents were given."""

    def row(self, agent: str) -> BenchRow:
        """The row of `agent`; KeyError when it has none."""
        for row in self.rows:
            if row.agent == agent:
                return row
        raise KeyError(agent)


class BenchTable(BaseModel):
    """The result of `bench`: agents by tasks, each against the baseline."""

    model: str
    """The agent model that answered."""
    baseline: str
    """The agent every other one is compared with."""
    agents: list[str]
    """Agent names, in the order given."""
    tasks: list[BenchTask] = Field(default_factory=list)
    """One entry per task, in the order given."""

    def task(self, name: str) -> BenchTask:
        """The entry of task `name`; KeyError when it has none."""
        for entry in self.tasks:
            if entry.task == name:
                return entry
        raise KeyError(name)


def pick_baseline(agents: Sequence[AgentSpec], baseline: str | None) -> str:
    """The baseline's name: `baseline` (an agent's name or source) when given, else the ``cot`` seed when
    it is among the agents, else the first agent."""
    if not agents:
        raise ConfigError("bench needs at least one agent")
    if baseline is not None:
        for spec in agents:
            if baseline in (spec.name, spec.source):
                return spec.name
        raise ConfigError(
            f"baseline {baseline!r} is not among the agents: {', '.join(s.name for s in agents)}"
        )
    for spec in agents:
        if spec.source == BASELINE_SEED:
            return spec.name
    return agents[0].name


def _versus(result: EvalResult, baseline: EvalResult, seed: int) -> PairedComparison | None:
    """`result` against `baseline` on the examples both have a score for (an example the provider left
    unscored says nothing); None when they have none in common."""
    from agentkit.tasks import paired_compare

    pairs = [
        (mine.score, theirs.score)
        for mine, theirs in zip(result.results, baseline.results, strict=True)
        if not (mine.unscored or theirs.unscored)
    ]
    if not pairs:
        return None
    return paired_compare([a for a, _ in pairs], [b for _, b in pairs], seed=seed)


async def bench(
    agents: Sequence[AgentSpec],
    tasks: Sequence[Task],
    *,
    client: LLMClient,
    model: ModelConfig,
    runner: AgentRunner,
    limit: int | None = None,
    baseline: str | None = None,
    concurrency: int = 8,
    seed: int = 0,
    on_result: Callable[[ExampleResult], None] | None = None,
    executor: ExampleExecutor | None = None,
) -> BenchTable:
    """Evaluate every agent on the first `limit` examples (None: all) of every task and compare each with
    the baseline per task (see `pick_baseline` and the module docstring). With an `executor` (e.g.
    `agentkit.distributed.RayExecutor`) the examples run where it sends them, as in `evaluate_agent`.

    `tasks` are `Task` objects: built-in ones from `agentkit.load_task`, or your own from
    `agentkit.Task.from_records`. Agent names must be distinct (they key the rows).

    Example:
        >>> async with Session.open("openai/gpt-4o-mini") as s:  # doctest: +SKIP
        ...     table = await bench([resolve_agent("cot"), resolve_agent("my_agent.py")],
        ...                         [load_task(n) for n in ("gsm8k", "svamp")], limit=100,
        ...                         client=s.client, model=s.model, runner=s.runner)
        >>> table.task("svamp").row("my_agent").vs_baseline.p_value  # doctest: +SKIP
    """

    names = [spec.name for spec in agents]
    if len(set(names)) != len(names):
        raise ConfigError(f"agent names must be distinct in a bench table, got {names}")
    if not tasks:
        raise ConfigError("bench needs at least one task")
    chosen = pick_baseline(agents, baseline)
    table = BenchTable(model=model.model, baseline=chosen, agents=names)
    for task in tasks:
        examples = task.examples if limit is None else task.examples[:limit]
        results = await asyncio.gather(
            *(
                evaluate_agent(
                    spec.code,
                    examples,
                    task,
                    client=client,
                    model=model,
                    runner=runner,
                    agent_name=spec.name,
                    split="eval",
                    concurrency=concurrency,
                    seed=seed,
                    on_result=on_result,
                    executor=executor,
                )
                for spec in agents
            )
        )
        scores = {r.agent: [x.score for x in r.results] for r in results}
        by_agent = {r.agent: r for r in results}
        rows = [
            BenchRow(
                agent=r.agent,
                summary=r.summary,
                scores=scores[r.agent],
                vs_baseline=None if r.agent == chosen else _versus(r, by_agent[chosen], seed),
            )
            for r in results
        ]
        table.tasks.append(BenchTask(task=task.name, n=len(examples), scorer=task.scorer_name, rows=rows))
    return table
