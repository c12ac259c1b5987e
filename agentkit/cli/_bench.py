"""`agentkit bench`: several agents on the same examples of one task (or, with --tasks, several tasks:
the transfer table), with a paired test of each against the best."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentkit.cli import _flags as flags
from agentkit.cli import _judge as judging
from agentkit.cli import _options as opt
from agentkit.cli._app import app
from agentkit.cli._cluster import EXECUTOR, RAY_ACTORS, RAY_ADDRESS
from agentkit.cli._eval import (
    AGENT_FAILED_EXIT,
    _evaluate_many,
    _fmt_cost,
    _say_unparsed,
    _summary_row,
    _unique_names,
    say_agents_failed,
)
from agentkit.cli._interrupt import cached_again, run_or_interrupted
from agentkit.cli._settings import EvalSettings

if TYPE_CHECKING:
    from agentkit.records import EvalResult
    from agentkit.tasks import PairedComparison


@app.command("bench")
def bench_command(
    task: str | None = typer.Option(
        None, "--task", "-t", help="Task name: gsm8k, mgsm, drop, gsm-hard, svamp, asdiv, bbh/<task>, ..."
    ),
    tasks: str | None = typer.Option(
        None,
        "--tasks",
        help="Several tasks, comma-separated (e.g. gsm8k,gsm-hard,svamp,asdiv): one transfer table with "
        "each agent against chain of thought (cot, else the first agent) per task.",
    ),
    agents: str = typer.Option(
        "cot,cot_sc,self_refine,debate",
        "--agents",
        help="Comma-separated seed names, .py paths or agents of a run: RUN:selected, RUN:<id or name>.",
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
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for results.json and results.csv."),
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
    """Compare prompt strategies on the same examples, with a paired test of each against the best
    (with --tasks: on several tasks, each against chain of thought)."""
    from rich.table import Table

    from agentkit.cli._console import plain_console
    from agentkit.cli._transfer import resolve_agent_refs, run_transfer
    from agentkit.cli._unscored import all_unscored, exit_if_unscored
    from agentkit.errors import ConfigError

    if (task is None) == (tasks is None):
        raise ConfigError("agentkit bench needs --task NAME or --tasks NAME,NAME,... (one of them)")
    specs = _unique_names(resolve_agent_refs(agents))
    settings = EvalSettings.from_options(locals())
    opt.check_api_base(settings.model, settings.api_base)
    if tasks is not None:
        if task_opt:
            raise ConfigError("--opt sets options of one task; it cannot be used with --tasks")
        with opt.given_prices(price):
            run_transfer(specs, tasks, settings, out=out, as_json=as_json)
        return
    assert task is not None
    with opt.given_prices(price):
        results, level, model_name = run_or_interrupted(
            _evaluate_many(specs, task, settings), again=cached_again(not no_cache)
        )
    if all_unscored(results):
        exit_if_unscored(results, cached=not no_cache, shown=False)  # nothing was scored: no table
    # (an agent with nothing scored has no accuracy to be best by)
    best = max(_scored(results), key=lambda r: r.summary.accuracy.mean)
    versus = _versus_best(results, best, seed=seed)
    rows = [_summary_row(result) | versus.get(result.agent, {}) for result in results]
    for row in rows:
        if row["unscored"] >= row["n"]:  # nothing scored, nothing known (0.0 would read as all wrong)
            row |= {"accuracy": None, "ci_low": None, "ci_high": None}
    slug = task.replace("/", "_").replace(":", "_")
    out_dir = out or Path("archives") / f"bench-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "task": task,
        "task_options": settings.task_opts,
        "model": model_name,
        "api_base": settings.api_base,
        "isolation": level,
        "executor": settings.where.kind,
        "n": results[0].summary.n,
        "limit": limit,
        "seed": seed,
        "agent_temperature": agent_temperature,
        "agent_max_tokens": agent_max_tokens,
        "budget": None if settings.budget is None else settings.budget.model_dump(),
        "judge_model": judge_model,
        "cache": not no_cache,
        "agentkit_version": _version(),
        "best": best.agent,
        "p_values": P_VALUES,
    }
    examples = {
        r.agent: [
            {
                "id": x.example_id,
                "score": x.score,
                "unscored": x.unscored,
                "error": x.error.kind if x.error else None,
            }
            for x in r.results
        ]
        for r in results
    }
    (out_dir / "results.json").write_text(json.dumps(meta | {"agents": rows, "examples": examples}, indent=2))
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with (out_dir / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    if as_json:
        print(json.dumps(meta | {"agents": rows, "out": str(out_dir)}, indent=2))
        _exit(results, cached=not no_cache)
        return
    unscored = sum(r.summary.unscored for r in results)
    table = Table(title=f"{task}: {meta['n']} examples, model {model_name}")
    columns = ["agent", "accuracy [95% CI]", "vs best (diff [CI], p*)", "errors"]
    columns += ["unscored"] if unscored else []
    for col in (*columns, "calls", "cost", "p50"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for row in rows:
        if row["agent"] == best.agent:
            shown = "best"
        elif "vs_best_diff" not in row:
            shown = "no example scored for both"
        else:
            shown = (
                f"{row['vs_best_diff']:+.1%} [{row['vs_best_low']:+.1%}, {row['vs_best_high']:+.1%}], "
                f"p={row['vs_best_p']:.3f}" + (f", {row['vs_best_pairs']} pairs" if unscored else "")
            )
        accuracy = (
            f"unscored ({row['unscored']})"
            if row["accuracy"] is None
            else f"{row['accuracy']:.1%} [{row['ci_low']:.1%}, {row['ci_high']:.1%}]"
        )
        cells = [row["agent"], accuracy, shown]
        cells += [f"{row['error_rate']:.0%}"] + ([str(row["unscored"])] if unscored else [])
        table.add_row(
            *cells, str(row["llm_calls"]), _fmt_cost(row["cost_usd"]), f"{row['latency_p50_s']:.2f}s"
        )
    console = plain_console()
    console.print(table)
    console.print(f"p*: {P_VALUES}", highlight=False)
    cached = sum(call.cached for r in results for x in r.results for call in x.trace)
    if cached:
        calls = sum(r.summary.llm_calls for r in results)
        console.print(f"{cached} of {calls} model calls came from the cache (not billed)", highlight=False)
    console.print(f"isolation: {level}; results saved to {out_dir}/results.json and results.csv")
    for result in results:
        _say_unparsed(result, named=True)
    _exit(results, cached=not no_cache)


def _exit(results: list[EvalResult], *, cached: bool) -> None:
    """Exit non-zero when an agent failed every example or examples were left unscored (saying both)."""
    from agentkit.cli._unscored import exit_if_unscored

    failed = say_agents_failed(results)
    exit_if_unscored(results, cached=cached)
    if failed:
        raise typer.Exit(AGENT_FAILED_EXIT)


P_VALUES = (
    "McNemar's exact test (the paired bootstrap for partial credit) on the examples both agents have "
    "scores for, Holm-adjusted over every pair of agents: the best is picked from these same examples"
)
"""How the p-values of `bench --task` are made, printed under its table and saved with its results."""


def _scored(results: list[EvalResult]) -> list[EvalResult]:
    """The results with at least one scored example (`all_unscored` has stopped the command before
    none has)."""
    return [r for r in results if r.summary.n > r.summary.unscored]


def _versus_best(results: list[EvalResult], best: EvalResult, *, seed: int) -> dict[str, dict[str, Any]]:
    """Each agent's paired comparison with `best`, its p-value Holm-adjusted over all pairs of agents
    (comparing with a best chosen from the same data is many comparisons, not one)."""
    from agentkit.tasks import holm_adjusted, paired_compare

    compared: dict[tuple[int, int], PairedComparison] = {}
    for i, a in enumerate(results):
        for j in range(i + 1, len(results)):
            b = results[j]
            # Compared on the examples both have scores for (same order): unscored ones say nothing.
            pairs = [
                (x.score, y.score)
                for x, y in zip(a.results, b.results, strict=True)
                if not (x.unscored or y.unscored)
            ]
            if pairs:
                compared[(i, j)] = paired_compare([x for x, _ in pairs], [y for _, y in pairs], seed=seed)
    adjusted = dict(zip(compared, holm_adjusted([c.p_value for c in compared.values()]), strict=True))
    k = results.index(best)
    out: dict[str, dict[str, Any]] = {}
    for i, result in enumerate(results):
        key = (min(i, k), max(i, k))
        if i == k or key not in compared:
            continue
        cmp = compared[key]
        sign = 1.0 if i < k else -1.0  # the comparison is of the earlier agent minus the later one
        low, high = sorted((sign * cmp.interval.low, sign * cmp.interval.high))
        out[result.agent] = {
            # + 0.0: a flipped 0.0 would show as -0.0%
            "vs_best_diff": round(sign * cmp.difference, 4) + 0.0,
            "vs_best_low": round(low, 4) + 0.0,
            "vs_best_high": round(high, 4) + 0.0,
            "vs_best_p": adjusted[key],
            "vs_best_p_unadjusted": cmp.p_value,
            "vs_best_pairs": cmp.n,
            "vs_best_test": cmp.method,
        }
    return out


def _version() -> str:
    from agentkit import __version__

    return __version__
