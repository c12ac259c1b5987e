"""Scoring the agents of a run directory into that run (`agentkit eval --run RUN_DIR`): how agents imported
from ADAS get agentkit's own score beside the one ADAS reported.

Every agent of the run (or the ones named) is scored on the task's first `limit` examples outside
the run's own search and test splits (a search run's sealed test questions are not spent again, on
every agent, where someone could choose by them), with one model; the per-example results and the
summary are stored under the run's ``eval`` split, apart from a search's ``search``/``screen``/``test``
splits (so this never changes what a search selected). The run is locked while it is written (one
run, one writer). Results land one by one: a stopped evaluation, run
again with the same command, reuses every finished example and runs only the rest.

The run keeps the settings of its first evaluation (task, model, task options): scores on one split are
comparable only when measured the same way. A later evaluation may use more (or fewer) examples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agentkit.archive import EVAL_USAGE_ROLE
from agentkit.errors import BudgetExceeded, ConfigError
from agentkit.report._data import EVAL_SPLIT, run_settings

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.evaluate import Judge, Session
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.evaluate._session import Isolation
    from agentkit.llm import Budget
    from agentkit.records import ExampleResult
    from agentkit.tasks import Example, Task

# What must stay as the run's first evaluation had it.
_FIXED = ("task", "model", "task_options", "judge")


class RunEvalRow(BaseModel):
    """One agent scored by `evaluate_run`."""

    agent_id: str
    """Id of the agent in the run."""
    name: str
    """Its name."""
    n: int
    """Examples its score covers."""
    mean: float
    """Mean score."""
    low: float
    """Lower bound of the 95% interval."""
    high: float
    """Upper bound of the 95% interval."""
    error_rate: float
    """Share of the scored examples on which the agent failed."""
    unscored: int = 0
    """Examples the provider left unscored (not in the score; run again by the next evaluation)."""
    reused: int
    """Examples taken from an earlier evaluation into this run instead of being run again."""
    cost_usd: float | None = None
    """Cost of the examples its score covers (None when a price is unknown)."""


class RunEvaluation(BaseModel):
    """What `evaluate_run` did."""

    run_dir: Path
    """The run directory."""
    task: str
    """The task scored on."""
    model: str
    """The agent model."""
    split: str = EVAL_SPLIT
    """The split the results are stored under."""
    limit: int
    """Examples per agent (the task's first `limit` outside the run's search and test splits)."""
    left_out: int = 0
    """Examples of the task passed over because they are in the run's search or sealed test split."""
    isolation: str = ""
    """The sandbox isolation level used."""
    agents: list[RunEvalRow] = Field(default_factory=list)
    """One row per agent scored, in the run's order."""


def _judged(task: Task, judge: Judge | None) -> Task:
    """`task` with `judge` attached when it is scored by one; ConfigError when a judge task has none or
    a judge is given for a task without one."""
    from agentkit.evaluate import with_judge
    from agentkit.evaluate._judge import JUDGE_SCORER

    if task.scorer_name != JUDGE_SCORER:
        if judge is not None:
            raise ConfigError(f"a judge grades tasks scored by one (scorer judge); {task.name} is not")
        return task
    if judge is None:
        raise ConfigError(f"{task.name} is scored by an LLM judge: give --judge-model MODEL")
    return with_judge(task, judge)


def _is_budget(result: ExampleResult) -> bool:
    return result.error is not None and result.error.kind == "budget"


def _run_model(
    config: dict[str, Any], model: str | None, overrides: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """The model to score a run's agents with when none is given: the one its earlier evaluation used,
    else the one its agents were searched with, so a bare `eval --run` neither scores them with the
    default model nor locks the run to it. The run's own model (given or not) is reached at the run's
    endpoint unless another is given."""
    from agentkit.llm import endpoint_settings

    earlier = config.get("eval")
    if model is None and isinstance(earlier, dict) and isinstance(earlier.get("model"), str):
        model = earlier["model"]
    settings = run_settings(config)
    own = settings.get("model")
    if model is None and isinstance(own, str) and own:
        model = own
    base = settings.get("api_base")
    if model is not None and model == own and "api_base" not in overrides and isinstance(base, str) and base:
        overrides = overrides | endpoint_settings(base)
    return model, overrides


async def evaluate_run(
    run_dir: str | Path,
    *,
    task: str | None = None,
    agents: Sequence[str] | None = None,
    model: str | None = None,
    model_overrides: dict[str, Any] | None = None,
    data_dir: Path | None = None,
    task_options: dict[str, Any] | None = None,
    limit: int = 50,
    concurrency: int = 8,
    isolation: Isolation = "auto",
    cache: bool = True,
    seed: int = 0,
    wall_time_s: float | None = None,
    budget: Budget | None = None,
    on_result: Callable[[ExampleResult], None] | None = None,
    judge: Judge | None = None,
    executor: ExampleExecutor | None = None,
) -> RunEvaluation:
    """Score the agents of the run in `run_dir` (all of them, or the ids/names in `agents`) on the first
    `limit` examples of `task` (default: the run's task) with `model` (default: the model of the run's
    earlier evaluation, else the run's own) and store the results in the run under the ``eval``
    split, and the calls it sends in the run's usage (role "eval"). Holds the run's writer lock
    throughout (RunLocked when another process writes to it). A task scored by an LLM judge needs
    `judge` (its judgements, rationales included, are stored with each result; the judge model is one
    of the fixed settings). ConfigError when no task is known, a judge is missing or given for a task
    without one, or a fixed setting differs from the run's first evaluation; BudgetExceeded when the
    budget stopped it (what finished is kept; run it again to go on). With an `executor` (a Ray
    cluster) the examples run there; this process alone writes the run."""
    from agentkit.archive import Archive
    from agentkit.evaluate._session import Session
    from agentkit.llm import check_models, prepare_models, resolve_model
    from agentkit.search import RunBook
    from agentkit.tasks import load_task

    with Archive.open(run_dir, lock=True) as archive:
        model, model_overrides = _run_model(archive.config, model, dict(model_overrides or {}))
        model_cfg = resolve_model(model, **model_overrides)
        prepare_models([model_cfg])  # litellm's import, if needed, overlaps with loading the task
        stored_task = run_settings(archive.config).get("task")
        task_name = task or (stored_task if isinstance(stored_task, str) else None)
        if not task_name:
            raise ConfigError(f"{run_dir} names no task: give one with --task")
        if isinstance(stored_task, str) and stored_task and task_name != stored_task:
            raise ConfigError(
                f"{run_dir} is a run on {stored_task!r}, not {task_name!r}; score its agents on another task "
                "with `agentkit eval --agent FILE --task ...` (agent files are in the run's agents/ folder)"
            )
        settings: dict[str, Any] = {
            "task": task_name,
            "model": model_cfg.model,
            "task_options": dict(task_options or {}),
        }
        if judge is not None:
            settings["judge"] = judge.model.model
        before = archive.config.get("eval")
        if isinstance(before, dict):
            changed = [k for k in _FIXED if k in before and before[k] != settings.get(k)]
            if changed:
                was = ", ".join(f"{k} {before[k]!r}" for k in changed)
                raise ConfigError(
                    f"{run_dir} was evaluated with {was}; its eval scores stay comparable only with the same "
                    "settings (import the agents again into a new run to score them another way)"
                )
        chosen = [archive.agent(a) for a in agents] if agents else archive.agents()
        loaded = _judged(load_task(task_name, data_dir=data_dir, **dict(task_options or {})), judge)
        # A search's split questions, and above all its sealed test questions, are not scored again here
        sealed = set(archive.get_state("search_ids") or []) | set(archive.get_state("test_ids") or [])
        examples: list[Example] = []
        left_out = 0
        for example in loaded.examples:
            if len(examples) == limit:
                break
            if example.id in sealed:
                left_out += 1
            else:
                examples.append(example)
        if sealed and not examples:
            raise ConfigError(
                f"every example of {task_name} is in {run_dir}'s search or sealed test split: none is left "
                "to score its agents on without spending the sealed test again"
            )
        wanted = {e.id for e in examples}
        check_models([model_cfg])  # a key that is not set, a server not running: before the run changes
        changes: dict[str, Any] = {"eval": {**settings, "limit": len(examples), "seed": seed}}
        if not stored_task:
            changes["task"] = task_name
        archive.update_config(changes)
        out = RunEvaluation(
            run_dir=archive.run_dir,
            task=task_name,
            model=model_cfg.model,
            limit=len(examples),
            left_out=left_out,
        )
        refused = False
        async with Session.open(
            model_cfg,
            isolation=isolation,
            workers=concurrency,
            cache=cache,
            budget=budget,
            wall_time_s=wall_time_s,
            executor=executor,
        ) as session:
            out.isolation = session.isolation_level
            # what it sends is in the run's usage, so the run's totals and its cost by role include it
            book = RunBook(archive, session.client, executor=session.executor, role=EVAL_USAGE_ROLE)
            book.generation = int(archive.get_state("generations_done", 0) or 0)
            with book.attached():
                refused = await _score_agents(
                    archive,
                    session,
                    chosen,
                    examples,
                    loaded,
                    out,
                    concurrency=concurrency,
                    seed=seed,
                    wanted=wanted,
                    on_result=on_result,
                )
        archive.log_event(
            "evaluated_into_run",
            {**out.model_dump(mode="json", exclude={"run_dir"}), "refused_by_budget": refused},
        )
    if refused:
        raise BudgetExceeded(
            f"the budget stopped the evaluation of {run_dir}; finished examples are kept: run the same "
            "command with a larger budget to go on"
        )
    return out


async def _score_agents(
    archive: Archive,
    session: Session,
    chosen: Sequence[AgentRecord],
    examples: Sequence[Example],
    loaded: Task,
    out: RunEvaluation,
    *,
    concurrency: int,
    seed: int,
    wanted: set[str],
    on_result: Callable[[ExampleResult], None] | None,
) -> bool:
    """Score each chosen agent in turn into the run's eval split, a row of `out` each; True when the
    budget refused a call (the agents after it are left for the next evaluation)."""
    from agentkit.evaluate._evaluator import evaluate_agent

    for agent in chosen:
        done = {
            r.example_id: r
            for r in archive.results(agent.id, EVAL_SPLIT)
            if r.example_id in wanted and not _is_budget(r) and not r.unscored
        }

        def store(result: ExampleResult, agent_id: str = agent.id) -> None:
            # A result after a budget refusal says nothing about the agent: leave it to be run
            # again by the next evaluation (with more budget).
            if not _is_budget(result):
                archive.record_results(agent_id, EVAL_SPLIT, [result])
            if on_result is not None:
                on_result(result)

        result = await evaluate_agent(
            agent.code,
            examples,
            loaded,
            client=session.client,
            model=session.model,
            runner=session.runner,
            agent_name=agent.name,
            split=EVAL_SPLIT,
            concurrency=concurrency,
            done=done,
            on_result=store,
            seed=seed,
            executor=session.executor,
        )
        if any(_is_budget(r) for r in result.results):
            return True
        summary = result.summary
        archive.record_summary(agent.id, EVAL_SPLIT, summary)
        acc = summary.accuracy
        out.agents.append(
            RunEvalRow(
                agent_id=agent.id,
                name=agent.name,
                n=summary.n,
                mean=acc.mean,
                low=acc.low,
                high=acc.high,
                error_rate=summary.error_rate,
                unscored=summary.unscored,
                reused=len(done),
                cost_usd=summary.cost_usd,
            )
        )
    return False
