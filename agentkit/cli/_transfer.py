"""`agentkit bench --tasks A,B,...`: agents found on one task evaluated on several, in one table with
intervals and a paired test of each agent against chain of thought per task (ADAS's transfer table).

Agents are named as in ``--agents``: a seed (``cot``), a ``.py`` file, or an agent of a run as
``RUN:selected`` (the agent the run selects, by search-split lower bound) or ``RUN:<agent id or name>``.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.cli._interrupt import cached_again, run_or_interrupted
from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.cli._settings import EvalSettings
    from agentkit.evaluate import AgentSpec, BenchTable

SELECTED = "selected"


def resolve_agent_ref(ref: str) -> AgentSpec:
    """One ``--agents`` entry as an agent: ``RUN:selected``, ``RUN:<id or name>``, a seed or a path."""
    from agentkit.evaluate import resolve_agent

    run_text, sep, which = ref.rpartition(":")
    if sep and run_text and (Path(run_text) / "archive.sqlite").is_file():
        return _run_agent(Path(run_text), which.strip() or SELECTED, ref)
    if sep and run_text and which.strip() == SELECTED:
        # unmistakably RUN:selected, of a run that is not there
        what = (
            "is not a run directory (it has no archive.sqlite)"
            if Path(run_text).exists()
            else "does not exist"
        )
        raise ConfigError(f"{ref}: {run_text} {what}; RUN:selected names a search run's directory")
    return resolve_agent(ref)


def _run_agent(run_dir: Path, which: str, ref: str) -> AgentSpec:
    from agentkit.archive import Archive
    from agentkit.evaluate import AgentSpec
    from agentkit.report import selected_agent

    with Archive.open(run_dir, repair_files=False) as archive:
        record = selected_agent(archive) if which == SELECTED else archive.agent(which)
    if record is None:
        raise ConfigError(f"{ref}: no agent of {run_dir} has a search score yet, so none is selected")
    return AgentSpec(name=record.name, thought=record.thought, code=record.code, source=ref)


def resolve_agent_refs(text: str) -> list[AgentSpec]:
    """The comma-separated ``--agents`` value as agents (see `resolve_agent_ref`)."""
    specs = [resolve_agent_ref(part.strip()) for part in text.split(",") if part.strip()]
    if not specs:
        raise ConfigError(
            "--agents names no agent: give seed names, .py paths or RUN:selected, separated by commas"
        )
    return specs


async def _run(specs: list[AgentSpec], task_names: list[str], s: EvalSettings) -> tuple[BenchTable, str]:
    from agentkit.cli._judge import attach_judge
    from agentkit.cli._settings import open_session
    from agentkit.cli._unscored import show_pauses
    from agentkit.evaluate import bench
    from agentkit.evaluate._judge import JUDGE_SCORER
    from agentkit.llm import check_models, prepare_models, resolve_model
    from agentkit.tasks import load_task

    overrides = s.model_overrides()
    model_cfg = resolve_model(s.model, **overrides, **s.agent_overrides())
    judge_cfg = resolve_model(s.judge_model, **overrides) if s.judge_model else None
    prepare_models([model_cfg, judge_cfg])  # litellm's import, if needed, overlaps with loading the tasks
    # Every task loads (and finds its judge) before any call; --judge-model goes to the judged ones.
    loaded = [load_task(name, data_dir=s.data_dir) for name in task_names]
    judged = [t.name for t in loaded if t.scorer_name == JUDGE_SCORER]
    if s.judge_model is not None and not judged:
        raise ConfigError(
            f"--judge-model applies to tasks scored by a judge; none of {', '.join(task_names)} is"
        )
    tasks = [
        attach_judge(
            t,
            s.judge_model if t.name in judged else None,
            s.judge_samples,
            model_overrides=overrides,
            budget=s.budget,
        )
        for t in loaded
    ]
    check_models([model_cfg])  # a key not set, a server not running: stop before anything runs
    async with open_session(s, model_cfg) as session:
        show_pauses(session.client, None, session.executor)  # "model X not answering, pausing Ns"
        table = await bench(
            specs,
            tasks,
            client=session.client,
            model=session.model,
            runner=session.runner,
            limit=s.limit,
            concurrency=s.concurrency,
            seed=s.seed,
            executor=session.executor,
        )
        return table, session.isolation_level


def table_rows(table: BenchTable) -> list[dict[str, Any]]:
    """One flat row per (task, agent): the CSV and JSON form of the table."""
    rows: list[dict[str, Any]] = []
    for entry in table.tasks:
        for row in entry.rows:
            s = row.summary
            scored = s.n - s.unscored
            flat: dict[str, Any] = {
                "task": entry.task,
                "agent": row.agent,
                "n": s.n,
                # nothing scored, nothing known: no score (0.0 would read as every answer wrong)
                "score": round(s.accuracy.mean, 4) if scored else None,
                "ci_low": round(s.accuracy.low, 4) if scored else None,
                "ci_high": round(s.accuracy.high, 4) if scored else None,
                "error_rate": round(s.error_rate, 4),
                "llm_calls": s.llm_calls,
                "cost_usd": s.cost_usd,
                "unscored": s.unscored,
            }
            if row.vs_baseline is not None:
                cmp = row.vs_baseline
                flat |= {
                    "vs_baseline_diff": round(cmp.difference, 4),
                    "vs_baseline_low": round(cmp.interval.low, 4),
                    "vs_baseline_high": round(cmp.interval.high, 4),
                    "vs_baseline_p": cmp.p_value,
                    "vs_baseline_pairs": cmp.n,
                    "vs_baseline_test": cmp.method,
                }
            rows.append(flat)
    return rows


def run_transfer(
    specs: list[AgentSpec], tasks_text: str, settings: EvalSettings, *, out: Path | None, as_json: bool
) -> None:
    """`agentkit bench --tasks`: run `agentkit.evaluate.bench`, save results.json and results.csv, print."""
    names = [t.strip() for t in tasks_text.split(",") if t.strip()]
    if not names:
        raise ConfigError("--tasks names no task: give task names separated by commas, e.g. gsm8k,svamp")
    if len(set(names)) != len(names):
        raise ConfigError(f"--tasks names a task twice: {tasks_text}")
    started = time.perf_counter()
    table, level = run_or_interrupted(_run(specs, names, settings), again=cached_again(not settings.no_cache))
    rows = table_rows(table)
    out_dir = out or Path("archives") / f"transfer-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "tasks": names,
        "model": table.model,
        "isolation": level,
        "executor": settings.where.kind,
        "baseline": table.baseline,
        "limit": settings.limit,
        "wall_s": round(time.perf_counter() - started, 2),
    }
    (out_dir / "results.json").write_text(json.dumps(meta | {"rows": rows}, indent=2))
    with (out_dir / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        writer.writeheader()
        writer.writerows(rows)
    if as_json:
        print(json.dumps(meta | {"rows": rows, "out": str(out_dir)}, indent=2))
        _exit_if_unscored(table, cached=not settings.no_cache, budget=settings.budget is not None)
        return
    from agentkit.cli._console import plain_console

    console = plain_console() if sys.stdout.isatty() else plain_console(width=200)
    console.print(render_table(table))
    console.print(
        f"isolation: {level}; each cell: mean score [95% CI], then the difference from {table.baseline} "
        f"[95% CI] and its p-value (McNemar's exact test, or the paired bootstrap for partial credit); "
        f"results saved to {out_dir}/results.json and results.csv"
    )
    _exit_if_unscored(table, cached=not settings.no_cache, budget=settings.budget is not None)


def _exit_if_unscored(table: BenchTable, *, cached: bool, budget: bool) -> None:
    """Exit non-zero, saying how to go on, when examples were left unscored (`budget`: one was set,
    and may be why)."""
    from agentkit.cli._unscored import exit_unscored

    cells = [(t.task, row) for t in table.tasks for row in t.rows]
    missing = [(task, row.agent) for task, row in cells if row.summary.unscored]
    if missing:
        count = sum(row.summary.unscored for _, row in cells)
        total = sum(row.summary.n for _, row in cells)
        why = "the model provider failed them" + (", or the budget refused their calls" if budget else "")
        again = None
        if budget:
            again = (
                "Run the same command again when the provider answers, with a larger budget if it ran out"
                + (": answers already received come from the cache." if cached else ".")
            )
        exit_unscored(
            count, total, f"{missing[0][1]} on {missing[0][0]}", cached=cached, why=why, again=again
        )


def render_table(table: BenchTable) -> Any:
    """The transfer table: agents as rows, tasks as columns."""
    from rich.table import Table
    from rich.text import Text

    limits = sorted({entry.n for entry in table.tasks})
    n = str(limits[0]) if len(limits) == 1 else "/".join(map(str, limits))
    grid = Table(
        title=f"Transfer: {len(table.agents)} agents on {len(table.tasks)} tasks, {n} examples each, model {table.model}"
    )
    grid.add_column("agent", no_wrap=True)
    for entry in table.tasks:
        grid.add_column(entry.task + (" (F1)" if entry.scorer == "f1" else ""), justify="right")
    for agent in table.agents:
        cells: list[Text | str] = [agent + (" (baseline)" if agent == table.baseline else "")]
        for entry in table.tasks:
            row = entry.row(agent)
            acc = row.summary.accuracy
            if row.summary.unscored >= row.summary.n:
                cells.append(Text(f"unscored ({row.summary.unscored})"))
                continue
            text = f"{acc.mean:.1%} [{acc.low:.1%}, {acc.high:.1%}]"
            if row.summary.unscored:
                text += f" ({row.summary.unscored} unscored)"
            if row.vs_baseline is not None:
                cmp = row.vs_baseline
                text += (
                    f"\n{cmp.difference:+.1%} [{cmp.interval.low:+.1%}, {cmp.interval.high:+.1%}] "
                    f"p={cmp.p_value:.3f}"
                )
            cells.append(Text(text))
        grid.add_row(*cells)
    return grid
