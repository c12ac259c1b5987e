"""The sections of `report.html` about the run and its outcome: the run's settings, the selected
agent, the best score per generation, every agent's score, and the lineage."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING

from agentkit.report._data import payload_items, sort_rows
from agentkit.report._format import fmt_cost, fmt_score
from agentkit.report._html_outcome import ensembles, versus_seed
from agentkit.report._html_parts import (
    RunView,
    adas_cell,
    agent_ref,
    badge,
    esc,
    html_table,
    kv_list,
    score_cell,
    unscored_note,
)
from agentkit.report._svg import PALETTE, IntervalRow, Series, interval_chart, line_chart

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord

# Config keys shown first, in this order; the rest follow alphabetically.
_CONFIG_ORDER = (
    "task",
    "task_split",
    "model",
    "meta_model",
    "api_base",
    "search_size",
    "test_size",
    "screen_size",
    "generations",
    "parallel",
    "seed",
    "selection",
    "self_review",
    "debug_attempts",
    "top_k",
    "sandbox.isolation",
    "budget.max_cost_usd",
    "budget.max_calls",
    "budget.max_tokens",
    "reflect.reflection",
    "reflect.manual",
    # the same settings as runs written before the configuration had sections stored them
    "isolation",
    "budget_usd",
    "budget_calls",
    "budget_tokens",
    "reflection",
    "manual",
)
_SECRET_KEY = re.compile(r"(api_key|apikey|secret|password|authorization)$", re.IGNORECASE)
_STOP_WORDS = ("stop", "end", "finish", "interrupt", "budget", "complete", "done")


def summary(run: RunView) -> str:
    cfg = run.config
    keys = [k for k in _CONFIG_ORDER if k in cfg] + sorted(k for k in cfg if k not in _CONFIG_ORDER)
    pairs = []
    for key in keys:
        value = cfg[key]
        if isinstance(value, dict | list):
            continue  # nested settings are in the full config below
        shown = "(hidden)" if _SECRET_KEY.search(key) and value else value
        pairs.append((esc(key), esc("-" if shown is None else shown)))
    status = Counter(a.status for a in run.agents)
    origin = Counter(a.origin for a in run.agents)
    gens = [a.generation for a in run.agents]
    facts = [
        ("run directory", f"<code>{esc(run.info.run_dir)}</code>"),
        ("created", esc(run.info.created_at.strftime("%Y-%m-%d %H:%M UTC"))),
        (
            "agents",
            esc(f"{len(run.agents)} ({', '.join(f'{n} {s}' for s, n in sorted(status.items()))})"),
        ),
        ("origin", esc(", ".join(f"{n} {o}" for o, n in sorted(origin.items())) or "-")),
        ("generations", esc(f"0 to {max(gens)}" if gens else "-")),
    ]
    unscored = [r for r in run.rows if r.unscored]
    if unscored:
        waiting = [r for r in unscored if r.waiting]
        line = (
            f"{sum(r.unscored for r in unscored)} example(s) of {len(unscored)} agent(s) left unscored: the "
            "provider failed them, so no score counts them"
        )
        if waiting:
            line += (
                f"; {len(waiting)} agent(s) still waiting for them, not compared or selected until "
                f"<code>agentkit search --resume {esc(run.info.run_dir)}</code> scores them"
            )
        facts.append(("unscored (provider failures)", f'<span class="unscored">{line}</span>'))
    last_stop = next(
        (ev for ev in reversed(run.events) if any(w in ev.kind.lower() for w in _STOP_WORDS)), None
    )
    if last_stop is not None:
        detail = ", ".join(f"{k}={v}" for k, v in payload_items(last_stop.payload)[:4])
        facts.append(("last stop event", esc(f"{last_stop.kind} ({detail})" if detail else last_stop.kind)))
    redacted = {k: ("(hidden)" if _SECRET_KEY.search(k) and v else v) for k, v in run.info.config.items()}
    full = json.dumps(redacted, indent=2, ensure_ascii=False, default=str)
    return (
        kv_list(facts)
        + "<h3>Configuration</h3>"
        + (kv_list(pairs) if pairs else '<p class="muted">No configuration was stored.</p>')
        + f'<details><summary>Full configuration (JSON)</summary><div class="body"><pre>{esc(full)}</pre>'
        "</div></details>"
    )


def selection(run: RunView) -> str:
    best = run.selected
    if best is None:
        return (
            '<div class="callout none"><h3>No agent selected</h3><p>No agent has a score on the search '
            "split yet, so there is nothing to select. Failed and unfinished candidates are listed below."
            "</p></div>"
        )
    row = run.row_by_id[best.id]
    assert row.search is not None
    scored = [r for r in run.rows if r.search is not None]
    ranked = run.archive.best_agents(2, "search", by="lower_bound")
    conf = f"{row.search.confidence:.0%}"
    why = (
        f"It has the highest lower bound of the {conf} interval on the <b>search split</b> among "
        f"{len(scored)} agent{'s' if len(scored) != 1 else ''} with a search score. The lower bound, not "
        "the mean, decides: an agent that looks good by luck on few examples does not beat one that is "
        "reliably good."
    )
    if len(ranked) > 1:
        ru = run.row_by_id[ranked[1].id]
        assert ru.search is not None
        why += (
            f" Runner-up: {agent_ref(ru.id, run.names)} with lower bound {ru.search.low:.3f} "
            f"(mean {ru.search.mean:.3f})."
        )
    if row.test is not None:
        test = (
            f'<span class="test">{esc(fmt_score(row.test, with_n=True))}</span> — the <b>sealed test '
            "split</b>, scored once after the search ended and never used to choose."
        )
    else:
        test = '<span class="muted">not measured (the run has not scored the sealed test split)</span>'
    pairs = [
        ("agent", f"<b>{agent_ref(best.id, run.names)}</b>"),
        ("generation", esc(best.generation)),
        ("search score", esc(fmt_score(row.search, with_n=True))),
        ("sealed test score", test),
        ("evaluation cost", esc(fmt_cost(row.cost_usd))),
    ]
    notes = []
    tested = [r for r in run.rows if r.test is not None and r.id != best.id]
    if tested and row.test is not None:
        top = max(tested, key=lambda r: r.test.mean if r.test else 0.0)
        if top.test is not None and top.test.mean > row.test.mean:
            notes.append(
                f"{agent_ref(top.id, run.names)} scored higher on the sealed test split "
                f"({top.test.mean:.3f} against {row.test.mean:.3f}). The selection stays with the search "
                "split: choosing by test score would make the test score a biased estimate."
            )
    note_html = "".join(f'<p class="small">{n}</p>' for n in notes)
    return (
        f'<div class="callout"><h3>Selected: {esc(best.name)}</h3>{kv_list(pairs)}<p>{why}</p>{note_html}</div>'
        f'<p class="small muted">Ship it with <code>agentkit export {esc(run.info.run_dir)} -o my_agent.py'
        "</code>.</p>" + versus_seed(run) + ensembles(run)
    )


def progress(run: RunView) -> str:
    scored = [a for a in run.agents if "search" in a.summaries]
    if not scored:
        return '<p class="muted">No agent has a search-split score yet.</p>'
    all_gens = sorted({a.generation for a in run.agents})
    lo_so_far: list[tuple[float, float]] = []
    mean_so_far: list[tuple[float, float]] = []
    gen_best: list[tuple[float, float]] = []
    best_low = best_mean = None
    rows = []
    for gen in range(all_gens[0], all_gens[-1] + 1):
        of_gen = [a for a in run.agents if a.generation == gen]
        scored_gen = [a for a in of_gen if "search" in a.summaries]
        for a in scored_gen:
            acc = a.summaries["search"].accuracy
            best_low = acc.low if best_low is None else max(best_low, acc.low)
            best_mean = acc.mean if best_mean is None else max(best_mean, acc.mean)
        if best_low is not None and best_mean is not None:
            lo_so_far.append((gen, best_low))
            mean_so_far.append((gen, best_mean))
        top = max(scored_gen, key=lambda a: a.summaries["search"].accuracy.mean, default=None)
        if top is not None:
            gen_best.append((gen, top.summaries["search"].accuracy.mean))
        if of_gen:
            failed = sum(a.status == "failed" for a in of_gen)
            rows.append(
                [
                    esc(gen),
                    esc(len(of_gen)),
                    esc(len(scored_gen)),
                    esc(failed) if not failed else f'<span class="errors">{failed}</span>',
                    agent_ref(top.id, run.names) if top else '<span class="muted">-</span>',
                    score_cell(run.row_by_id[top.id].search) if top else "",
                    esc(f"{best_low:.3f}") if best_low is not None else "-",
                ]
            )
    chart = line_chart(
        [
            Series("best so far: lower bound (selection criterion)", lo_so_far, PALETTE[2]),
            Series("best so far: mean", mean_so_far, PALETTE[0]),
            Series("best of the generation: mean", gen_best, PALETTE[4], dashed=True),
        ],
        title="Best search-split score per generation",
        x_label="generation",
        y_label="search-split score",
        y_range=(0.0, 1.0),
        width=1060,
        height=320,
    )
    table = html_table(
        [
            "gen",
            "agents",
            "scored",
            "failed",
            "best of generation",
            "its search score",
            "best lower bound so far",
        ],
        rows,
        num_cols={0, 1, 2, 3, 6},
    )
    return f'<div class="chart-box" id="chart-progress">{chart}</div><h3>Per generation</h3>{table}'


def scores(run: RunView) -> str:
    rows = sort_rows(run.rows, "score")
    with_search = [r for r in rows if r.search is not None]
    chart = ""
    if with_search:
        chart = interval_chart(
            [
                IntervalRow(
                    label=f"{r.name} ({r.id})",
                    mean=r.search.mean,
                    low=r.search.low,
                    high=r.search.high,
                    test=r.test.mean if r.test else None,
                    highlight=r.selected,
                    muted=r.status == "failed",
                    tooltip=(
                        f"{r.name} ({r.id}), generation {r.generation}: search {fmt_score(r.search)}"
                        + (f"; sealed test {fmt_score(r.test)}" if r.test else "")
                    ),
                )
                for r in with_search
                if r.search is not None
            ],
            title="Every agent's search-split score with its interval",
            width=1060,
            label_width=330,
        )
    has_eval = any(r.eval is not None for r in rows)
    has_adas = any(r.adas is not None for r in rows)
    table_rows = []
    classes = []
    for r in rows:
        parents = ", ".join(agent_ref(p, run.names) for p in r.parents) or '<span class="muted">-</span>'
        search = score_cell(r.search)
        if r.search is None and r.screen is not None:
            search = f'<span class="muted">screen only: {esc(fmt_score(r.screen))}</span>'
        search += unscored_note(r)
        table_rows.append(
            [
                esc(r.generation),
                f'<a href="#code-{esc(r.id)}"><code>{esc(r.id)}</code></a>',
                esc(r.name) + (" ★" if r.selected else ""),
                badge(r.status),
                search,
                esc(r.search.n) if r.search else "",
                f'<span class="test">{score_cell(r.test)}</span>' if r.test else score_cell(None),
                *([score_cell(r.eval)] if has_eval else []),
                *([adas_cell(r.adas)] if has_adas else []),
                esc(fmt_cost(r.cost_usd)),
                parents,
            ]
        )
        classes.append("selected" if r.selected else "")
    headers = ["gen", "id", "name", "status", "search score [95% interval]", "n", "sealed test"]
    if has_eval:
        headers.append("eval (agentkit eval --run)")
    if has_adas:
        headers.append("reported by ADAS")
    headers += ["cost", "parents"]
    table = html_table(
        headers,
        table_rows,
        num_cols={0, 4, 5, 6, *range(7, len(headers) - 1)},
        row_classes=classes,
    )
    chart_html = f'<div class="chart-box" id="chart-scores">{chart}</div>' if chart else ""
    notes = ""
    if has_eval:
        notes += (
            " Eval scores were measured here by <code>agentkit eval --run</code> on the task's first "
            "examples outside the run's search and sealed test splits."
        )
    if has_adas:
        notes += (
            ' <span class="adas">Reported by ADAS</span>: the median [interval] ADAS reported for an '
            "imported agent (and its test score, where the file had one), measured by ADAS on its own "
            "examples with its own model: shown for comparison, never used here."
        )
    return (
        chart_html
        + '<p class="small muted">Sorted by search-split lower bound. ★ marks the selected agent. Test '
        "scores come from the sealed test split, measured once for the top agents after the search."
        + notes
        + "</p>"
        + table
    )


def lineage(run: RunView) -> str:
    if not run.agents:
        return '<p class="muted">The archive holds no agents.</p>'
    children: dict[str, list[AgentRecord]] = {}
    roots: list[AgentRecord] = []
    for a in run.agents:
        first = next((p for p in a.parents if p in run.by_id), None)
        if first is None:
            roots.append(a)
        else:
            children.setdefault(first, []).append(a)
    seen: set[str] = set()

    def node(a: AgentRecord) -> str:
        seen.add(a.id)
        r = run.row_by_id[a.id]
        score = f" · {esc(f'{r.search.mean:.3f}')}" if r.search else ""
        others = [p for p in a.parents[1:]]
        also = (
            f' <span class="muted small">also from {", ".join(agent_ref(p, run.names) for p in others)}'
            "</span>"
            if others
            else ""
        )
        star = " ★" if r.selected else ""
        kids = [c for c in children.get(a.id, []) if c.id not in seen]
        sub = "<ul>" + "".join(node(c) for c in kids) + "</ul>" if kids else ""
        return (
            f'<li><a href="#code-{esc(a.id)}"><b>{esc(a.name)}</b></a>{star} <code>{esc(a.id)}</code> '
            f'<span class="muted">g{esc(a.generation)}{score}</span> {badge(a.status)}{also}{sub}</li>'
        )

    items = "".join(node(a) for a in roots)
    return (
        '<p class="small muted">Each agent sits under its first parent; further parents are named beside '
        "it. Scores are search-split means.</p>"
        f'<ul class="tree" id="lineage">{items}</ul>'
    )
