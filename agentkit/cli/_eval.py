"""`agentkit eval` and `agentkit bench`: score one agent, or compare several on the same examples."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentkit.cli import _flags as flags
from agentkit.cli import _judge as judging
from agentkit.cli import _options as opt
from agentkit.cli._app import app
from agentkit.cli._cluster import EXECUTOR, RAY_ACTORS, RAY_ADDRESS, open_executor
from agentkit.cli._interrupt import cached_again, run_or_interrupted
from agentkit.cli._settings import EvalSettings, open_session
from agentkit.cli._startup import EarlySandbox, import_evaluation
from agentkit.cli._unscored import show_pauses

if TYPE_CHECKING:
    from agentkit.evaluate import AgentSpec, EvalResult, Session
    from agentkit.report import RunEvaluation
    from agentkit.sandbox import Sandbox
    from agentkit.tasks import Example, Task


def _fmt_cost(cost: float | None) -> str:
    return "n/a" if cost is None else f"${cost:.4f}"


class _NoProgress:
    """What `_progress` gives when no bar is shown: importing rich's costs a tenth of `eval`'s start."""

    disable = True

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def advance(self, _bar: int) -> None:
        return None


def _progress(enabled: bool, total: int, label: str) -> Any:
    if not enabled:
        return _NoProgress(), 0
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}", markup=False),  # the label names an agent
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    )
    bar = progress.add_task(label, total=total)
    return progress, bar


async def _evaluate_many(
    specs: list[Any] | Callable[[], list[Any]], task_name: str, settings: EvalSettings
) -> tuple[list[EvalResult], str, str]:
    """Evaluate the agents of `specs` (or of what the callable returns: resolving agents imports the
    evaluation code, which then overlaps with the sandbox's start) on the first examples of a task."""
    s = settings
    early = EarlySandbox.maybe(s.isolation, s.concurrency, s.timeout, s.where)
    try:
        resolved = await asyncio.to_thread(import_evaluation, specs)
        if early is not None:
            await early.starting  # its error (no isolation level works, say), if any, once
        return await _evaluate_loaded(resolved, task_name, s, early.sandbox if early is not None else None)
    finally:
        if early is not None:
            await early.aclose()


async def _evaluate_loaded(
    specs: list[Any], task_name: str, s: EvalSettings, sandbox: Sandbox | None
) -> tuple[list[EvalResult], str, str]:
    from agentkit.llm import check_models, prepare_models, resolve_model
    from agentkit.tasks import load_task

    overrides = s.model_overrides()
    model_cfg = resolve_model(s.model, **overrides, **s.agent_overrides())
    judge_cfg = resolve_model(s.judge_model, **overrides) if s.judge_model else None
    prepare_models([model_cfg, judge_cfg])  # litellm's import, if needed, overlaps with what follows
    task = load_task(task_name, data_dir=s.data_dir, **s.task_opts)
    task = judging.attach_judge(
        task, s.judge_model, s.judge_samples, model_overrides=overrides, budget=s.budget
    )
    examples = task.examples[: s.limit]
    # Checked while the sandbox starts (the check may wait for litellm's import), before any example.
    keys = asyncio.ensure_future(asyncio.to_thread(check_models, [model_cfg]))
    try:
        async with open_session(s, model_cfg, runner=sandbox) as session:
            await keys  # a key that is not set, a server not running: stop before anything runs
            return await _run_specs(session, specs, task, examples, s.concurrency, s.seed, s.show_progress)
    finally:
        await asyncio.gather(keys, return_exceptions=True)


async def _run_specs(
    session: Session,
    specs: list[Any],
    task: Task,
    examples: list[Example],
    concurrency: int,
    seed: int,
    show_progress: bool,
) -> tuple[list[EvalResult], str, str]:
    """Evaluate every agent of `specs` on `examples` in `session`, at the same time."""
    from agentkit.evaluate import evaluate_agent

    if show_progress:
        print(f"isolation: {session.isolation_level}", file=sys.stderr)
    progress, bar = _progress(show_progress, len(examples) * len(specs), f"{task.name}")
    show_pauses(session.client, progress, session.executor)
    with progress:
        results = await asyncio.gather(
            *(
                evaluate_agent(
                    spec.code,
                    examples,
                    task,
                    client=session.client,
                    model=session.model,
                    runner=session.runner,
                    agent_name=spec.name,
                    split="eval",
                    concurrency=concurrency,
                    seed=seed,
                    on_result=lambda _r: progress.advance(bar),
                    executor=session.executor,
                )
                for spec in specs
            )
        )
    return list(results), session.isolation_level, session.model.model


def _resolve_agent(name: str) -> AgentSpec:
    from agentkit.evaluate import resolve_agent

    return resolve_agent(name)


def _unique_names(specs: list[AgentSpec]) -> list[AgentSpec]:
    """The specs with distinct names: rows, CSV lines and the "best" field are keyed by name, so two
    agents called the same (a seed and an export of it) get their source added."""
    seen: dict[str, int] = {}
    for spec in specs:
        seen[spec.name] = seen.get(spec.name, 0) + 1
    out: list[AgentSpec] = []
    used: set[str] = set()
    for spec in specs:
        name = spec.name if seen[spec.name] == 1 else f"{spec.name} ({spec.source})"
        base, k = name, 2
        while name in used:
            name, k = f"{base} #{k}", k + 1
        used.add(name)
        out.append(spec if name == spec.name else spec.model_copy(update={"name": name}))
    return out


def _summary_row(result: EvalResult) -> dict[str, Any]:
    s = result.summary
    return {
        "agent": result.agent,
        "n": s.n,
        "accuracy": round(s.accuracy.mean, 4),
        "ci_low": round(s.accuracy.low, 4),
        "ci_high": round(s.accuracy.high, 4),
        "error_rate": round(s.error_rate, 4),
        "unscored": s.unscored,
        "llm_calls": s.llm_calls,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "cost_usd": s.cost_usd,
        "latency_p50_s": round(s.latency_p50_s, 3),
        "latency_p95_s": round(s.latency_p95_s, 3),
    }


@app.command("eval")
def eval_command(
    agent: str | None = typer.Option(
        None,
        "--agent",
        "-a",
        help="A seed agent name (e.g. cot) or a path to a .py file; with --run, an agent id or name in "
        "the run (default: all of them).",
    ),
    task: str | None = typer.Option(
        None,
        "--task",
        "-t",
        help="Task name: gsm8k, mgsm, bbh/<task>, gen/<kind>, jsonl:<path> (with --run: default the run's).",
    ),
    run: Path | None = typer.Option(
        None,
        "--run",
        help="Score the agents of this run directory (e.g. from import-adas) and store the scores in it "
        "(split 'eval', shown by agentkit show). Takes the run's lock; run it again to go on after a stop.",
    ),
    model: str | None = opt.MODEL,
    api_base: str | None = opt.API_BASE,
    limit: int = opt.LIMIT,
    concurrency: int = opt.CONCURRENCY,
    max_inflight: int | None = opt.MAX_INFLIGHT,
    agent_temperature: float | None = opt.AGENT_TEMPERATURE,
    agent_max_tokens: int | None = opt.AGENT_MAX_TOKENS,
    isolation: str = opt.ISOLATION,
    no_cache: bool = opt.NO_CACHE,
    data_dir: Path | None = opt.DATA_DIR,
    task_opt: list[str] = opt.TASK_OPTS,
    seed: int = opt.SEED,
    timeout: float = opt.TIMEOUT,
    budget_usd: float | None = opt.BUDGET_USD,
    budget_calls: int | None = opt.BUDGET_CALLS,
    budget_tokens: int | None = opt.BUDGET_TOKENS,
    price: list[str] = opt.PRICE,
    config_file: Path | None = flags.CONFIG_FILE,
    judge_model: str | None = judging.JUDGE_MODEL,
    judge_samples: int = judging.JUDGE_SAMPLES,
    executor: str = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
    ray_actors: int | None = RAY_ACTORS,
    as_json: bool = opt.JSON_OUT,
) -> None:
    """Score one agent on the first N examples of a task (or, with --run, the agents of a run, into it)."""
    from agentkit.cli._unscored import all_unscored, exit_if_unscored
    from agentkit.errors import ConfigError

    settings = EvalSettings.from_options(locals())
    if run is not None:
        _eval_run(run, agent=agent, task=task, settings=settings, price=price, as_json=as_json)
        return
    if agent is None or task is None:
        raise ConfigError("agentkit eval needs --agent and --task (or --run RUN_DIR to score a run's agents)")
    opt.check_api_base(settings.model, settings.api_base)  # (--run takes the run's model instead)
    chosen: str = agent
    started = time.perf_counter()
    with opt.given_prices(price):
        (result,), level, model_name = run_or_interrupted(
            _evaluate_many(lambda: [_resolve_agent(chosen)], task, settings),
            again=cached_again(not no_cache),
        )
    row = _summary_row(result) | {"task": result.task, "model": model_name, "isolation": level}
    row["executor"] = settings.where.kind
    row["wall_s"] = round(time.perf_counter() - started, 2)
    if as_json:
        payload = row | {"results": [r.model_dump(exclude={"trace"}) for r in result.results]}
        print(json.dumps(payload, indent=2))
        exit_if_unscored([result], cached=not no_cache)
        _exit_if_all_failed(result)
        return
    if all_unscored([result]):
        exit_if_unscored([result], cached=not no_cache, shown=False)  # nothing was scored: no table
    from rich.table import Table

    from agentkit.cli._console import plain_console

    table = Table(title=f"{result.agent} on {result.task} ({model_name})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    s = result.summary
    table.add_row("examples", str(s.n))
    table.add_row(
        "accuracy (95% CI)", f"{s.accuracy.mean:.1%}  [{s.accuracy.low:.1%}, {s.accuracy.high:.1%}]"
    )
    table.add_row("errors", f"{s.error_rate:.1%}")
    if s.unscored:
        kinds = {r.error.kind for r in result.results if r.unscored and r.error is not None}
        why = (
            {"provider": " (provider failed)", "budget": " (budget refused)"}.get(kinds.pop(), "")
            if len(kinds) == 1
            else ""
        )
        table.add_row(f"unscored{why}", str(s.unscored))
    cached = sum(call.cached for r in result.results for call in r.trace)
    # replies from the cache cost nothing now: say how many, so a $0 rerun does not read as free calls
    table.add_row(
        "LLM calls", f"{s.llm_calls} ({cached} from the cache, not billed)" if cached else str(s.llm_calls)
    )
    table.add_row("tokens (prompt / completion)", f"{s.prompt_tokens} / {s.completion_tokens}")
    table.add_row("cost", _fmt_cost(s.cost_usd))
    table.add_row("latency p50 / p95", f"{s.latency_p50_s:.2f}s / {s.latency_p95_s:.2f}s")
    table.add_row("isolation", level)
    table.add_row("wall time", f"{row['wall_s']}s")
    plain_console().print(table)
    _say_unparsed(result)
    errors = [r for r in result.results if r.error is not None and not r.unscored]
    from agentkit.records import failed_every_example

    if errors and failed_every_example(result.results) is None:  # else `_exit_if_all_failed` says it
        first = errors[0]
        assert first.error is not None
        plain_console(stderr=True).print(
            f"{len(errors)} example(s) failed; first: {first.example_id}: "
            f"{first.error.kind}: {first.error.message}",
            style="yellow",
        )
    exit_if_unscored([result], cached=not no_cache)
    _exit_if_all_failed(result)


def _say_unparsed(result: EvalResult, *, named: bool = False) -> None:
    """One line when model replies did not parse into the fields the agent asked for: the agent then
    saw empty fields, which the table alone would show only as wrong answers. `named`: start the line
    with the agent's name (for a table of several)."""
    unparsed = [(r, c) for r in result.results for c in r.trace if c.parse_error]
    if not unparsed:
        return
    from agentkit.cli._console import plain_console

    example, call = unparsed[0]
    examples = len({id(r) for r, _ in unparsed})
    calls = sum(len(r.trace) for r in result.results)
    plain_console(stderr=True).print(
        f"{result.agent + ': ' if named else ''}{len(unparsed)} of {calls} model replies (in {examples} "
        f"example(s)) were not in the form asked for; first: {example.example_id}: {call.parse_error}",
        style="yellow",
        highlight=False,
    )


AGENT_FAILED_EXIT = 4
"""Exit status of `eval` when the agent failed every example it was scored on: a broken agent, or one
that cannot run on this task, which a script or CI job should not take for a score of 0."""


def say_agents_failed(results: Sequence[EvalResult]) -> bool:
    """For `bench`: name each agent that failed every example it was scored on, with its first
    failure (its 0% is a broken agent, or one that cannot run on this task, not a strategy that scored
    nothing); True when there was one, for the command to exit with `AGENT_FAILED_EXIT` as `eval`
    does (after saying what else went wrong)."""
    from agentkit.records import failed_every_example

    broken = [(r.agent, first) for r in results if (first := failed_every_example(r.results)) is not None]
    if not broken:
        return False
    said = "; ".join(
        f"{agent} (first: {first.example_id}: {first.error.kind}: {first.error.message})"
        for agent, first in broken
        if first.error is not None
    )
    print(f"error: {len(broken)} agent(s) failed every example they were scored on: {said}", file=sys.stderr)
    return True


def _exit_if_all_failed(result: EvalResult) -> None:
    from agentkit.records import failed_every_example

    first = failed_every_example(result.results)
    if first is None:
        return
    assert first.error is not None
    scored = sum(1 for r in result.results if not r.unscored)
    print(
        f"error: the agent failed all {scored} example(s) (first: {first.example_id}: "
        f"{first.error.kind}: {first.error.message})",
        file=sys.stderr,
    )
    raise typer.Exit(AGENT_FAILED_EXIT)


def _eval_run(
    run: Path, *, agent: str | None, task: str | None, settings: EvalSettings, price: list[str], as_json: bool
) -> None:
    """`agentkit eval --run`: score a run's agents into the run (`agentkit.report.evaluate_run`); with
    ``--executor ray`` the examples run on the cluster and this process alone writes the run."""
    from rich.table import Table

    from agentkit.cli._console import plain_console
    from agentkit.evaluate._session import check_isolation
    from agentkit.report import evaluate_run

    st = settings
    isolation = check_isolation(st.isolation)
    judge = judging.make_judge(
        st.judge_model,
        st.judge_samples,
        model_overrides=opt.model_overrides(st.api_base),
        budget=st.budget,
    )

    async def scored() -> RunEvaluation:
        async with open_executor(
            st.where, per_actor=st.concurrency, isolation=isolation, cache=not st.no_cache, budget=st.budget
        ) as executor:
            return await evaluate_run(
                run,
                task=task,
                agents=[agent] if agent else None,
                model=st.model,
                model_overrides=st.model_overrides() | st.agent_overrides(),
                data_dir=st.data_dir,
                task_options=st.task_opts,
                limit=st.limit,
                concurrency=st.concurrency,
                isolation=isolation,
                cache=not st.no_cache,
                seed=st.seed,
                wall_time_s=st.timeout,
                budget=st.budget,
                judge=judge,
                executor=executor,
            )

    with opt.given_prices(price):
        done = run_or_interrupted(
            scored(), again=f"run the same command again to go on: the finished examples are stored in {run}"
        )
    if as_json:
        print(done.model_dump_json(indent=2))
        _exit_if_run_unscored(done, cached=not st.no_cache)
        _exit_if_an_agent_failed_all(done)
        return
    table = Table(
        title=f"{done.run_dir} on {done.task} ({done.model}), {done.limit} examples, split {done.split}"
    )
    for col in ("agent", "name", "accuracy [95% CI]", "errors", "reused", "cost"):
        table.add_column(col, justify="left" if col in ("agent", "name") else "right")
    for row in done.agents:
        table.add_row(
            row.agent_id,
            row.name,
            f"{row.mean:.1%} [{row.low:.1%}, {row.high:.1%}]",
            f"{row.error_rate:.0%}",
            str(row.reused),
            _fmt_cost(row.cost_usd),
        )
    console = plain_console()
    console.print(table)
    if done.left_out:
        console.print(
            f"passed over {done.left_out} example(s) of the run's search and sealed test splits "
            "(scored on the next ones instead)"
        )
    console.print(f"isolation: {done.isolation}; stored in the run: agentkit show {done.run_dir}")
    _exit_if_run_unscored(done, cached=not st.no_cache)
    _exit_if_an_agent_failed_all(done)


def _exit_if_an_agent_failed_all(done: RunEvaluation) -> None:
    """`eval --run` exits as `eval` does (`AGENT_FAILED_EXIT`) when an agent it scored failed every
    example its score covers, naming the agents and where their failures are shown."""
    broken = [row for row in done.agents if row.n and row.error_rate >= 1.0]
    if not broken:
        return
    names = ", ".join(f"{row.agent_id} ({row.name})" for row in broken)
    print(
        f"error: {len(broken)} agent(s) failed every example they were scored on: {names}; "
        f"their failures: agentkit show {done.run_dir} {broken[0].agent_id}",
        file=sys.stderr,
    )
    raise typer.Exit(AGENT_FAILED_EXIT)


def _exit_if_run_unscored(done: RunEvaluation, *, cached: bool) -> None:
    """`eval --run` exits non-zero, saying how to go on, when the provider left examples unscored."""
    from agentkit.cli._unscored import exit_unscored

    unscored = [row for row in done.agents if row.unscored]
    if unscored:
        exit_unscored(
            sum(row.unscored for row in done.agents),
            sum(row.n for row in done.agents),
            f"agent {unscored[0].agent_id}",
            cached=cached,
            again="Run the same command again when the provider answers: it scores just those.",
        )
