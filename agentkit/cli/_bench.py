"""`agentkit bench`: several agents on the same examples of one task (or, with --tasks, several tasks:
the transfer table), with a paired test of each against the best."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import typer

from agentkit.cli import _flags as flags
from agentkit.cli import _judge as judging
from agentkit.cli import _options as opt
from agentkit.cli._app import app
from agentkit.cli._cluster import EXECUTOR, RAY_ACTORS, RAY_ADDRESS
from agentkit.cli._eval import _evaluate_many, _fmt_cost, _summary_row, _unique_names
from agentkit.cli._interrupt import cached_again, run_or_interrupted
from agentkit.cli._settings import EvalSettings


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
    from agentkit.tasks import paired_compare

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
    best = max(results, key=lambda r: r.summary.accuracy.mean)
    rows = []
    for result in results:
        row = _summary_row(result)
        # Compared on the examples both have scores for (same order): unscored ones say nothing.
        pairs = [
            (a.score, b.score)
            for a, b in zip(result.results, best.results, strict=True)
            if not (a.unscored or b.unscored)
        ]
        if result is not best and pairs:
            cmp = paired_compare([a for a, _ in pairs], [b for _, b in pairs], seed=seed)
            row |= {
                "vs_best_diff": round(cmp.difference, 4),
                "vs_best_low": round(cmp.interval.low, 4),
                "vs_best_high": round(cmp.interval.high, 4),
                "vs_best_p": round(cmp.p_value, 4),
            }
        rows.append(row)
    slug = task.replace("/", "_").replace(":", "_")
    out_dir = out or Path("archives") / f"bench-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "task": task,
        "model": model_name,
        "isolation": level,
        "executor": settings.where.kind,
        "n": results[0].summary.n,
        "best": best.agent,
    }
    (out_dir / "results.json").write_text(json.dumps(meta | {"agents": rows}, indent=2))
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with (out_dir / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    if as_json:
        print(json.dumps(meta | {"agents": rows, "out": str(out_dir)}, indent=2))
        exit_if_unscored(results, cached=not no_cache)
        return
    table = Table(title=f"{task}: {meta['n']} examples, model {model_name}")
    for col in ("agent", "accuracy [95% CI]", "vs best (diff [CI], p)", "errors", "calls", "cost", "p50"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for row in rows:
        versus = (
            "best"
            if "vs_best_diff" not in row
            else (
                f"{row['vs_best_diff']:+.1%} [{row['vs_best_low']:+.1%}, {row['vs_best_high']:+.1%}], "
                f"p={row['vs_best_p']:.3f}"
            )
        )
        table.add_row(
            row["agent"],
            f"{row['accuracy']:.1%} [{row['ci_low']:.1%}, {row['ci_high']:.1%}]",
            versus,
            f"{row['error_rate']:.0%}",
            str(row["llm_calls"]),
            _fmt_cost(row["cost_usd"]),
            f"{row['latency_p50_s']:.2f}s",
        )
    console = plain_console()
    console.print(table)
    console.print(f"isolation: {level}; results saved to {out_dir}/results.json and results.csv")
    exit_if_unscored(results, cached=not no_cache)
