"""Score one agent on a list of examples, optionally as a cascade (screen first, continue if promising)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from agentkit.evaluate._bridge import ExampleCalls
from agentkit.evaluate._executor import ExampleExecutor
from agentkit.evaluate._judge import JUDGE_SCORER, judged_score
from agentkit.evaluate._runner import AgentRunner
from agentkit.evaluate._summary import summarize
from agentkit.records import AgentFailure, EvalResult, ExampleResult

if TYPE_CHECKING:
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.tasks import Example, Task

ResultCallback = Callable[[ExampleResult], None]


async def evaluate_one(
    code: str,
    example: Example,
    task: Task,
    *,
    client: LLMClient,
    model: ModelConfig,
    runner: AgentRunner,
    trace_chars: int = 2000,
) -> ExampleResult:
    """Run the agent on one example and score its answer. Never raises for agent failures; raises
    ProviderAuthError when the provider refused the credentials on one of its calls (the command stops:
    no example can be scored until the key is fixed), even if agent code caught the failed call."""
    calls = ExampleCalls(client, model, trace_chars=trace_chars)
    started = time.perf_counter()
    try:
        run = await runner.run(code, example.input, answer_format=task.answer_format, llm=calls)
        answer, error = run.answer, run.error
    except Exception as exc:  # a runner bug must not sink the whole evaluation
        answer, error = None, AgentFailure(kind="sandbox", message=f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - started
    # The provider failed this example (even if the agent caught the error and answered anyway): it is
    # left unscored, to be run again, never counted as the agent's 0.
    answer, error = calls.settle(answer, error)
    judgement = None
    if answer is None or error is not None:
        score = 0.0
    elif task.scorer_name == JUDGE_SCORER:
        score, judgement, error = await judged_score(client, task, example, answer)
    else:
        score = task.score_example(answer, example)
    return ExampleResult(
        example_id=example.id,
        answer=answer,
        score=score,
        error=error,
        llm_calls=calls.calls,
        prompt_tokens=calls.prompt_tokens,
        completion_tokens=calls.completion_tokens,
        cost_usd=calls.cost_usd,
        latency_s=latency,
        trace=calls.trace,
        judgement=judgement,
    )


async def _run_batch(
    code: str,
    examples: Sequence[Example],
    task: Task,
    *,
    client: LLMClient,
    model: ModelConfig,
    runner: AgentRunner,
    concurrency: int,
    trace_chars: int,
    on_result: ResultCallback | None,
) -> list[ExampleResult]:
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(example: Example) -> ExampleResult:
        async with gate:
            result = await evaluate_one(
                code, example, task, client=client, model=model, runner=runner, trace_chars=trace_chars
            )
        if on_result is not None:
            on_result(result)
        return result

    tasks = [asyncio.ensure_future(one(e)) for e in examples]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        # ProviderAuthError (or a cancellation): the other examples stop too, before it goes up.
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def evaluate_agent(
    code: str,
    examples: Sequence[Example],
    task: Task,
    *,
    client: LLMClient,
    model: ModelConfig | str,
    runner: AgentRunner,
    agent_name: str = "agent",
    split: str = "search",
    concurrency: int = 8,
    trace_chars: int = 2000,
    screen_size: int | None = None,
    bar: float | None = None,
    done: Mapping[str, ExampleResult] | None = None,
    on_result: ResultCallback | None = None,
    seed: int = 0,
    executor: ExampleExecutor | None = None,
) -> EvalResult:
    """Evaluate `code` on `examples` and return per-example records with their summary.

    Cascade: with `screen_size` and `bar`, the first `screen_size` examples are scored first; when the
    upper bound of their accuracy interval is below `bar` the agent cannot plausibly beat it, so the
    rest is skipped and the summary says `stopped_early`. Results in `done` (by example id, e.g. from
    an archive being resumed) are reused, never re-run, except unscored ones (the provider failed
    them), which run again. `on_result` sees each new result as it lands.

    An example whose model calls failed because of the provider comes back `unscored` (error kind
    "provider"), never as a 0: the summary's accuracy leaves it out and counts it in `unscored`, and
    the cascade does not stop on a screen that has one.

    With an `executor` (e.g. `agentkit.distributed.RayExecutor`) the examples run where it sends them,
    with its clients and sandboxes; `client` and `runner` are then not used for them. `model` is a
    `ModelConfig` or a model name (``"local"``, ``"openai/gpt-4o-mini"``), resolved as `resolve_model`
    does.

    Example:
        >>> result = await evaluate_agent(code, task.examples[:20], task,
        ...                               client=client, model="local", runner=sandbox)  # doctest: +SKIP
        >>> result.summary.accuracy.mean  # doctest: +SKIP
    """
    from agentkit.llm import as_model_config
    from agentkit.tasks import Task as TaskType

    if not isinstance(task, TaskType):  # a name here would fail deep inside (its answer format)
        raise TypeError(
            f"task must be a Task (agentkit.load_task({task!r}) gives one), not {type(task).__name__}"
        )
    model = as_model_config(model)
    done = dict(done or {})
    kwargs = dict(
        client=client,
        model=model,
        runner=runner,
        concurrency=concurrency,
        trace_chars=trace_chars,
        on_result=on_result,
    )

    async def run(batch: Sequence[Example]) -> list[ExampleResult]:
        todo = [e for e in batch if e.id not in done or done[e.id].unscored]
        if executor is not None:
            ran = await executor.run_examples(
                code, todo, task, model=model, trace_chars=trace_chars, on_result=on_result
            )
        else:
            ran = await _run_batch(code, todo, task, **kwargs)  # type: ignore[arg-type]
        fresh = {r.example_id: r for r in ran}
        return [fresh[e.id] if e.id in fresh else done[e.id] for e in batch]

    stopped_early = False
    if screen_size is not None and bar is not None and 0 < screen_size < len(examples):
        screened = await run(examples[:screen_size])
        screening = summarize(screened, seed=seed)
        # Not on a screen with unscored examples: what the provider failed says nothing of the agent.
        if not screening.unscored and screening.accuracy.high < bar:
            results, stopped_early = screened, True
        else:
            results = screened + await run(examples[screen_size:])
    else:
        results = await run(examples)
    return EvalResult(
        agent=agent_name,
        task=task.name,
        split=split,
        results=results,
        summary=summarize(results, seed=seed, stopped_early=stopped_early),
    )
