"""The LLM judge on the command line: ``--judge-model`` / ``--judge-samples`` for ``eval`` and ``bench``,
and ``agentkit judge-check``, which measures how well a judge agrees with exact match on a task with gold
answers (accuracy and Cohen's kappa), so users can see whether to trust it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentkit.cli import _options as opt
from agentkit.cli._app import app
from agentkit.cli._interrupt import cached_again, run_or_interrupted
from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.evaluate import Judge
    from agentkit.llm import Budget
    from agentkit.tasks import Task

JUDGE_MODEL = typer.Option(
    None,
    "--judge-model",
    help="Model that grades answers of tasks scored by an LLM judge (scorer judge), e.g. openai/gpt-4o.",
)
JUDGE_SAMPLES = typer.Option(
    3, "--judge-samples", min=1, max=25, help="Independent judgments per answer; the score is their median."
)


def attach_judge(
    task: Task,
    judge_model: str | None,
    judge_samples: int,
    *,
    model_overrides: dict[str, object],
    budget: Budget | None,
) -> Task:
    """`task` with its judge when it is scored by one; ConfigError when a judge task has no
    ``--judge-model``, when one is given for a task without a judge, or when a dollar budget cannot
    price it (before any call)."""
    from agentkit.evaluate import with_judge
    from agentkit.evaluate._judge import JUDGE_SCORER

    if task.scorer_name != JUDGE_SCORER:
        if judge_model is not None:
            raise ConfigError(
                f"--judge-model applies to tasks scored by a judge (scorer judge); {task.name} is scored by "
                f"{task.scorer_name}"
            )
        return task
    if judge_model is None:
        raise ConfigError(f"{task.name} is scored by an LLM judge: give --judge-model MODEL")
    judge = make_judge(judge_model, judge_samples, model_overrides=model_overrides, budget=budget)
    assert judge is not None
    return with_judge(task, judge)


def make_judge(
    judge_model: str | None,
    judge_samples: int,
    *,
    model_overrides: dict[str, object],
    budget: Budget | None,
) -> Judge | None:
    """The judge of ``--judge-model`` (None without one); ConfigError when a dollar budget cannot price
    it (before any call)."""
    if judge_model is None:
        return None
    from agentkit.evaluate import Judge
    from agentkit.llm import check_budget, check_models, resolve_model

    judge = Judge(model=resolve_model(judge_model, **model_overrides), samples=judge_samples)
    check_budget(budget, [judge.model])
    check_models([judge.model])  # a key the judge's provider needs, or its server: stop now
    return judge


async def _check(
    task_name: str,
    agent: str,
    *,
    model: str | None,
    judge_model: str,
    judge_samples: int,
    model_overrides: dict[str, object],
    data_dir: Path | None,
    task_options: dict[str, Any] | None = None,
    limit: int,
    concurrency: int,
    isolation: str,
    no_cache: bool,
    budget: Budget | None,
) -> dict[str, object]:
    from agentkit.cli._transfer import resolve_agent_ref
    from agentkit.evaluate import Judge, Session, agreement, evaluate_agent, judge_answer
    from agentkit.evaluate._judge import CHECK_RUBRIC, JUDGE_SCORER
    from agentkit.evaluate._session import check_isolation
    from agentkit.llm import check_budget, check_models, prepare_models, resolve_model

    agent_model = resolve_model(model, **model_overrides)
    judge = Judge(model=resolve_model(judge_model, **model_overrides), samples=judge_samples)
    prepare_models([agent_model, judge.model])  # litellm's import, if needed, overlaps with the loading
    task = load_gold_task(task_name, data_dir, task_options)
    examples = task.examples[:limit]
    spec = resolve_agent_ref(agent)
    check_budget(budget, [judge.model])
    check_models([agent_model, judge.model])  # a key that is not set, a server not running: stop now
    judged_task = task.model_copy(update={"scorer_name": JUDGE_SCORER, "rubric": CHECK_RUBRIC})
    async with Session.open(
        agent_model,
        isolation=check_isolation(isolation),
        workers=concurrency,
        cache=not no_cache,
        budget=budget,
    ) as session:
        result = await evaluate_agent(
            spec.code,
            examples,
            task,
            client=session.client,
            model=session.model,
            runner=session.runner,
            agent_name=spec.name,
            split="eval",
            concurrency=concurrency,
        )
        answered = [(e, r) for e, r in zip(examples, result.results, strict=True) if r.answer is not None]
        if not answered:
            raise ConfigError(f"{spec.name} answered none of the {len(examples)} examples: nothing to judge")
        judgements = await asyncio.gather(
            *(judge_answer(session.client, judge, judged_task, e, r.answer or "") for e, r in answered)
        )
        usage = session.client.usage().by_role.get("judge")
    found = agreement([r.score >= 1.0 for _, r in answered], [j.score >= 0.5 for j in judgements])
    return {
        "task": task.name,
        "agent": spec.name,
        "judge_model": judge.model.model,
        "judge_samples": judge_samples,
        "answers": len(answered),
        "agreement": found.model_dump(),
        "judge_calls": usage.calls if usage else 0,
        "judge_cost_usd": usage.cost_usd if usage else None,
    }


def load_gold_task(name: str, data_dir: Path | None, options: dict[str, Any] | None = None) -> Task:
    """A task with gold answers and an exact scorer (judge-check compares the judge with it)."""
    from agentkit.evaluate._judge import JUDGE_SCORER
    from agentkit.tasks import load_task

    task = load_task(name, data_dir=data_dir, **(options or {}))
    if task.scorer_name == JUDGE_SCORER or task.scorer_fn is not None:
        raise ConfigError(
            f"judge-check needs a task with gold answers and a built-in scorer; {name} has none"
        )
    return task


@app.command("judge-check")
def judge_check_command(
    task: str = opt.TASK,
    judge_model: str = typer.Option(..., "--judge-model", help="The judge model to check."),
    judge_samples: int = JUDGE_SAMPLES,
    agent: str = typer.Option(
        "cot", "--agent", "-a", help="Agent whose answers are judged (seed, .py, RUN:id)."
    ),
    model: str | None = opt.MODEL,
    api_base: str | None = opt.API_BASE,
    limit: int = opt.LIMIT,
    concurrency: int = opt.CONCURRENCY,
    isolation: str = opt.ISOLATION,
    no_cache: bool = opt.NO_CACHE,
    data_dir: Path | None = opt.DATA_DIR,
    task_opt: list[str] = opt.TASK_OPTS,
    budget_usd: float | None = opt.BUDGET_USD,
    budget_calls: int | None = opt.BUDGET_CALLS,
    budget_tokens: int | None = opt.BUDGET_TOKENS,
    price: list[str] = opt.PRICE,
    as_json: bool = opt.JSON_OUT,
) -> None:
    """How often an LLM judge agrees with exact match on a task with gold answers (accuracy, Cohen's kappa)."""
    opt.check_api_base(model, api_base)
    with opt.given_prices(price):
        report = run_or_interrupted(
            _check(
                task,
                agent,
                model=model,
                judge_model=judge_model,
                judge_samples=judge_samples,
                model_overrides=opt.model_overrides(api_base),
                data_dir=data_dir,
                task_options=opt.parse_task_opts(task_opt),
                limit=limit,
                concurrency=concurrency,
                isolation=isolation,
                no_cache=no_cache,
                budget=opt.budget(budget_usd, budget_calls, budget_tokens),
            ),
            again=cached_again(not no_cache),
        )
    if as_json:
        print(json.dumps(report, indent=2))
        return
    found = report["agreement"]
    assert isinstance(found, dict)
    print(
        f"judge {report['judge_model']} ({report['judge_samples']} samples) against exact match on "
        f"{report['task']}, {report['answers']} answers of {report['agent']}:\n"
        f"  agreement {found['accuracy']:.1%}, Cohen's kappa {found['kappa']:.2f}\n"
        f"  both right {found['both_right']}, both wrong {found['both_wrong']}, "
        f"judge only {found['judge_only']} (lenient), exact only {found['exact_only']} (harsh)\n"
        f"  judge calls {report['judge_calls']}"
    )
