"""`report.html`: one self-contained page (inline CSS, inline SVG, no script, no network) about a run.

Agent code, names, thoughts and every model-written text are untrusted: each goes through `html.escape`
(or Pygments, which escapes too) before it reaches the page.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.records import clip
from agentkit.report._data import (
    ScoreView,
    agent_row,
    compiled_manual,
    failure_view,
    monitor_series,
    payload_items,
    run_settings,
    selected_agent,
    sort_rows,
)
from agentkit.report._format import fmt_cost, fmt_int, fmt_score
from agentkit.report._svg import PALETTE, IntervalRow, Series, interval_chart, line_chart

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive

REPORT_NAME = "report.html"

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
    "isolation",
    "budget_usd",
    "budget_calls",
    "budget_tokens",
    "reflection",
    "manual",
)
_SECRET_KEY = re.compile(r"(api_key|apikey|secret|password|authorization)$", re.IGNORECASE)
_STOP_WORDS = ("stop", "end", "finish", "interrupt", "budget", "complete", "done")
_CLIP = 4000

_CSS = """
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --accent:#2563eb; --ok:#16a34a;
        --bad:#dc2626; --warn:#d97706; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.5 system-ui, -apple-system, "Segoe UI",
       Roboto, sans-serif; }
header { background:#111827; color:#fff; padding:20px 32px; }
header h1 { margin:0; font-size:22px; }
header .sub { color:#d1d5db; margin-top:4px; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 32px; position:sticky; top:0; z-index:1;
      display:flex; flex-wrap:wrap; gap:4px 16px; }
nav a { color:var(--accent); text-decoration:none; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 32px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 20px; margin:18px 0; }
h2 { margin:0 0 12px; font-size:18px; }
h3 { font-size:15px; margin:16px 0 8px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f3f4f6; font-weight:600; white-space:nowrap; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr.selected td { background:#ecfdf5; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size:12.5px; }
pre { white-space:pre-wrap; word-break:break-word; background:#f6f8fa; padding:10px 12px; border-radius:6px;
      margin:6px 0; max-height:640px; overflow:auto; }
.highlight pre { background:transparent; }
.highlight { background:#f6f8fa !important; border-radius:6px; }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:0 7px; border-radius:10px; font-size:11.5px; font-weight:600;
         border:1px solid transparent; white-space:nowrap; }
.st-evaluated { background:#dcfce7; color:#166534; }
.st-screened { background:#e0e7ff; color:#3730a3; }
.st-failed { background:#fee2e2; color:#991b1b; }
.st-proposed { background:#f3f4f6; color:#374151; }
.st-active { background:#dcfce7; color:#166534; }
.st-candidate { background:#fef9c3; color:#854d0e; }
.st-retired { background:#f3f4f6; color:#6b7280; }
.kv { display:grid; grid-template-columns: max-content 1fr; gap:2px 16px; margin:0; }
.kv dt { color:var(--muted); }
.kv dd { margin:0; word-break:break-word; }
.callout { border-left:4px solid var(--ok); background:#f0fdf4; padding:10px 14px; border-radius:4px; }
.callout.none { border-color:var(--warn); background:#fffbeb; }
.callout h3 { margin:0 0 6px; }
.test { color:#9f1239; }
.grid { display:grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap:12px; }
.chart { max-width:100%; height:auto; display:block; }
.chart-box { overflow-x:auto; }
.monitor-chart svg { width:100%; }
ul.tree, ul.tree ul { list-style:none; margin:0; padding-left:18px; }
ul.tree { padding-left:0; }
ul.tree ul { border-left:1px dashed #cbd5e1; margin-left:6px; }
ul.tree li { margin:3px 0; }
details { border:1px solid var(--line); border-radius:6px; margin:6px 0; background:#fff; }
details > summary { cursor:pointer; padding:6px 10px; list-style-position:inside; }
details[open] > summary { border-bottom:1px solid var(--line); background:#f9fafb; }
details > .body { padding:8px 12px; }
.errors { color:var(--bad); }
.small { font-size:12px; }
.thought { white-space:pre-wrap; background:#f9fafb; border:1px solid var(--line); border-radius:6px;
           padding:8px 12px; }
.outcome { font-weight:600; }
.oc-improved { color:var(--ok); }
.oc-regressed, .oc-crashed { color:var(--bad); }
.oc-no_change { color:var(--muted); }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _badge(status: str) -> str:
    return f'<span class="badge st-{_e(status)}">{_e(status)}</span>'


def _table(
    headers: list[str],
    rows: list[list[str]],
    *,
    num_cols: set[int] | None = None,
    row_classes: list[str] | None = None,
    cls: str = "",
) -> str:
    """A table from already-escaped cells."""
    num_cols = num_cols or set()
    head = "".join(f"<th{' class=num' if i in num_cols else ''}>{h}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        klass = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(f"<td{' class=num' if i in num_cols else ''}>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{klass}>{cells}</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kv(pairs: list[tuple[str, str]]) -> str:
    """A definition list from (escaped label, escaped value) pairs."""
    return '<dl class="kv">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _score_cell(score: ScoreView | None) -> str:
    return _e(fmt_score(score)) if score is not None else '<span class="muted">-</span>'


def _agent_ref(agent_id: str, names: dict[str, str]) -> str:
    name = names.get(agent_id)
    label = f"{name} ({agent_id})" if name else agent_id
    return f'<a href="#code-{_e(agent_id)}">{_e(label)}</a>'


def _highlight(code: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pygments comes with rich; plain text is the fallback
        return f"<pre><code>{_e(code)}</code></pre>"
    return highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, style="friendly"))


class _Report:
    """Collects the run once, then renders each section."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.info = archive.info()
        self.config = run_settings(self.info.config)
        self.agents = archive.agents()
        self.by_id = {a.id: a for a in self.agents}
        self.names = {a.id: a.name for a in self.agents}
        best = selected_agent(archive)
        self.selected = best
        self.rows = [agent_row(a, selected_id=best.id if best else None) for a in self.agents]
        self.row_by_id = {r.id: r for r in self.rows}
        self.events = archive.events()
        self.sections: list[tuple[str, str, str]] = []  # (anchor, title, html)

    # --- sections ----------------------------------------------------------------------------------------

    def summary(self) -> str:
        cfg = self.config
        keys = [k for k in _CONFIG_ORDER if k in cfg] + sorted(k for k in cfg if k not in _CONFIG_ORDER)
        pairs = []
        for key in keys:
            value = cfg[key]
            if isinstance(value, dict | list):
                continue  # nested settings are in the full config below
            shown = "(hidden)" if _SECRET_KEY.search(key) and value else value
            pairs.append((_e(key), _e("-" if shown is None else shown)))
        status = Counter(a.status for a in self.agents)
        origin = Counter(a.origin for a in self.agents)
        gens = [a.generation for a in self.agents]
        facts = [
            ("run directory", f"<code>{_e(self.info.run_dir)}</code>"),
            ("created", _e(self.info.created_at.strftime("%Y-%m-%d %H:%M UTC"))),
            (
                "agents",
                _e(f"{len(self.agents)} ({', '.join(f'{n} {s}' for s, n in sorted(status.items()))})"),
            ),
            ("origin", _e(", ".join(f"{n} {o}" for o, n in sorted(origin.items())) or "-")),
            ("generations", _e(f"0 to {max(gens)}" if gens else "-")),
        ]
        last_stop = next(
            (ev for ev in reversed(self.events) if any(w in ev.kind.lower() for w in _STOP_WORDS)), None
        )
        if last_stop is not None:
            detail = ", ".join(f"{k}={v}" for k, v in payload_items(last_stop.payload)[:4])
            facts.append(
                ("last stop event", _e(f"{last_stop.kind} ({detail})" if detail else last_stop.kind))
            )
        redacted = {
            k: ("(hidden)" if _SECRET_KEY.search(k) and v else v) for k, v in self.info.config.items()
        }
        full = json.dumps(redacted, indent=2, ensure_ascii=False, default=str)
        return (
            _kv(facts)
            + "<h3>Configuration</h3>"
            + (_kv(pairs) if pairs else '<p class="muted">No configuration was stored.</p>')
            + f'<details><summary>Full configuration (JSON)</summary><div class="body"><pre>{_e(full)}</pre>'
            "</div></details>"
        )

    def selection(self) -> str:
        best = self.selected
        if best is None:
            return (
                '<div class="callout none"><h3>No agent selected</h3><p>No agent has a score on the search '
                "split yet, so there is nothing to select. Failed and unfinished candidates are listed below."
                "</p></div>"
            )
        row = self.row_by_id[best.id]
        assert row.search is not None
        scored = [r for r in self.rows if r.search is not None]
        ranked = self.archive.best_agents(2, "search", by="lower_bound")
        conf = f"{row.search.confidence:.0%}"
        why = (
            f"It has the highest lower bound of the {conf} interval on the <b>search split</b> among "
            f"{len(scored)} agent{'s' if len(scored) != 1 else ''} with a search score. The lower bound, not "
            "the mean, decides: an agent that looks good by luck on few examples does not beat one that is "
            "reliably good."
        )
        if len(ranked) > 1:
            ru = self.row_by_id[ranked[1].id]
            assert ru.search is not None
            why += (
                f" Runner-up: {_agent_ref(ru.id, self.names)} with lower bound {ru.search.low:.3f} "
                f"(mean {ru.search.mean:.3f})."
            )
        if row.test is not None:
            test = (
                f'<span class="test">{_e(fmt_score(row.test, with_n=True))}</span> — the <b>sealed test '
                "split</b>, scored once after the search ended and never used to choose."
            )
        else:
            test = '<span class="muted">not measured (the run has not scored the sealed test split)</span>'
        pairs = [
            ("agent", f"<b>{_agent_ref(best.id, self.names)}</b>"),
            ("generation", _e(best.generation)),
            ("search score", _e(fmt_score(row.search, with_n=True))),
            ("sealed test score", test),
            ("evaluation cost", _e(fmt_cost(row.cost_usd))),
        ]
        notes = []
        tested = [r for r in self.rows if r.test is not None and r.id != best.id]
        if tested and row.test is not None:
            top = max(tested, key=lambda r: r.test.mean if r.test else 0.0)
            if top.test is not None and top.test.mean > row.test.mean:
                notes.append(
                    f"{_agent_ref(top.id, self.names)} scored higher on the sealed test split "
                    f"({top.test.mean:.3f} against {row.test.mean:.3f}). The selection stays with the search "
                    "split: choosing by test score would make the test score a biased estimate."
                )
        note_html = "".join(f'<p class="small">{n}</p>' for n in notes)
        return (
            f'<div class="callout"><h3>Selected: {_e(best.name)}</h3>{_kv(pairs)}<p>{why}</p>{note_html}</div>'
            f'<p class="small muted">Ship it with <code>agentkit export {_e(self.info.run_dir)} -o my_agent.py'
            "</code>.</p>"
        )

    def progress(self) -> str:
        scored = [a for a in self.agents if "search" in a.summaries]
        if not scored:
            return '<p class="muted">No agent has a search-split score yet.</p>'
        all_gens = sorted({a.generation for a in self.agents})
        lo_so_far: list[tuple[float, float]] = []
        mean_so_far: list[tuple[float, float]] = []
        gen_best: list[tuple[float, float]] = []
        best_low = best_mean = None
        rows = []
        for gen in range(all_gens[0], all_gens[-1] + 1):
            of_gen = [a for a in self.agents if a.generation == gen]
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
                        _e(gen),
                        _e(len(of_gen)),
                        _e(len(scored_gen)),
                        _e(failed) if not failed else f'<span class="errors">{failed}</span>',
                        _agent_ref(top.id, self.names) if top else '<span class="muted">-</span>',
                        _score_cell(self.row_by_id[top.id].search) if top else "",
                        _e(f"{best_low:.3f}") if best_low is not None else "-",
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
        table = _table(
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

    def scores(self) -> str:
        rows = sort_rows(self.rows, "score")
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
        table_rows = []
        classes = []
        for r in rows:
            parents = (
                ", ".join(_agent_ref(p, self.names) for p in r.parents) or '<span class="muted">-</span>'
            )
            search = _score_cell(r.search)
            if r.search is None and r.screen is not None:
                search = f'<span class="muted">screen only: {_e(fmt_score(r.screen))}</span>'
            table_rows.append(
                [
                    _e(r.generation),
                    f'<a href="#code-{_e(r.id)}"><code>{_e(r.id)}</code></a>',
                    _e(r.name) + (" ★" if r.selected else ""),
                    _badge(r.status),
                    search,
                    _e(r.search.n) if r.search else "",
                    f'<span class="test">{_score_cell(r.test)}</span>' if r.test else _score_cell(None),
                    _e(fmt_cost(r.cost_usd)),
                    parents,
                ]
            )
            classes.append("selected" if r.selected else "")
        table = _table(
            [
                "gen",
                "id",
                "name",
                "status",
                "search score [95% interval]",
                "n",
                "sealed test",
                "cost",
                "parents",
            ],
            table_rows,
            num_cols={0, 4, 5, 6, 7},
            row_classes=classes,
        )
        chart_html = f'<div class="chart-box" id="chart-scores">{chart}</div>' if chart else ""
        return (
            chart_html
            + '<p class="small muted">Sorted by search-split lower bound. ★ marks the selected agent. Test '
            "scores come from the sealed test split, measured once for the top agents after the search.</p>"
            + table
        )

    def lineage(self) -> str:
        if not self.agents:
            return '<p class="muted">The archive holds no agents.</p>'
        children: dict[str, list[AgentRecord]] = {}
        roots: list[AgentRecord] = []
        for a in self.agents:
            first = next((p for p in a.parents if p in self.by_id), None)
            if first is None:
                roots.append(a)
            else:
                children.setdefault(first, []).append(a)
        seen: set[str] = set()

        def node(a: AgentRecord) -> str:
            seen.add(a.id)
            r = self.row_by_id[a.id]
            score = f" · {_e(f'{r.search.mean:.3f}')}" if r.search else ""
            others = [p for p in a.parents[1:]]
            also = (
                f' <span class="muted small">also from {", ".join(_agent_ref(p, self.names) for p in others)}'
                "</span>"
                if others
                else ""
            )
            star = " ★" if r.selected else ""
            kids = [c for c in children.get(a.id, []) if c.id not in seen]
            sub = "<ul>" + "".join(node(c) for c in kids) + "</ul>" if kids else ""
            return (
                f'<li><a href="#code-{_e(a.id)}"><b>{_e(a.name)}</b></a>{star} <code>{_e(a.id)}</code> '
                f'<span class="muted">g{_e(a.generation)}{score}</span> {_badge(a.status)}{also}{sub}</li>'
            )

        items = "".join(node(a) for a in roots)
        return (
            '<p class="small muted">Each agent sits under its first parent; further parents are named beside '
            "it. Scores are search-split means.</p>"
            f'<ul class="tree" id="lineage">{items}</ul>'
        )

    def costs(self) -> str:
        by_role = self.archive.usage_by_role()
        usage = self.archive.usage()
        if not by_role:
            known = [r.cost_usd for r in self.rows if r.cost_usd is not None]
            total = fmt_cost(sum(known)) if known else "n/a"
            return (
                '<p class="muted">The run recorded no usage snapshots. Agent evaluation cost from the '
                f"evaluation summaries: {_e(total)}.</p>"
            )
        rows = []
        tot_calls = tot_p = tot_c = 0
        tot_cost: float | None = None
        for role, t in by_role.items():
            rows.append(
                [
                    _e(role),
                    _e(fmt_int(t.calls)),
                    _e(fmt_int(t.prompt_tokens)),
                    _e(fmt_int(t.completion_tokens)),
                    _e(fmt_cost(t.cost_usd)),
                ]
            )
            tot_calls += t.calls
            tot_p += t.prompt_tokens
            tot_c += t.completion_tokens
            if t.cost_usd is not None:
                tot_cost = (tot_cost or 0.0) + t.cost_usd
        rows.append(
            [
                "<b>total</b>",
                f"<b>{fmt_int(tot_calls)}</b>",
                f"<b>{fmt_int(tot_p)}</b>",
                f"<b>{fmt_int(tot_c)}</b>",
                f"<b>{_e(fmt_cost(tot_cost))}</b>",
            ]
        )
        role_table = _table(
            ["role", "calls", "prompt tokens", "completion tokens", "cost"], rows, num_cols={1, 2, 3, 4}
        )
        per_model: dict[tuple[str, str], list[Any]] = {}
        for u in usage:
            acc = per_model.setdefault((u.role, u.model), [0, 0, 0, None])
            acc[0] += u.calls
            acc[1] += u.prompt_tokens
            acc[2] += u.completion_tokens
            if u.cost_usd is not None:
                acc[3] = (acc[3] or 0.0) + u.cost_usd
        model_rows = [
            [
                _e(role),
                f"<code>{_e(model)}</code>",
                _e(fmt_int(c)),
                _e(fmt_int(p)),
                _e(fmt_int(k)),
                _e(fmt_cost(cost)),
            ]
            for (role, model), (c, p, k, cost) in sorted(per_model.items())
        ]
        model_table = _table(
            ["role", "model", "calls", "prompt tokens", "completion tokens", "cost"],
            model_rows,
            num_cols={2, 3, 4, 5},
        )
        note = (
            '<p class="small muted">Cost is n/a where the model has no known price (e.g. the embedded local '
            "model). Cached replies cost nothing and count no tokens.</p>"
        )
        return role_table + note + "<h3>By role and model</h3>" + model_table

    def failures(self) -> str:
        failed = [a for a in self.agents if a.status == "failed"]
        total = len(self.agents)
        if not failed:
            return f"<p>None of the {total} agents failed.</p>"
        rows = []
        for a in failed:
            view = failure_view(self.archive, a)
            kinds = ", ".join(f"{k} ×{n}" if n else k for k, n in view.error_kinds.items())
            rows.append(
                [
                    _e(a.generation),
                    _agent_ref(a.id, self.names),
                    f'<span class="errors">{_e(kinds or "unknown")}</span>',
                    _e(view.debug_rounds),
                    f'<code class="small">{_e(view.message or "-")}</code>',
                ]
            )
        table = _table(
            ["gen", "agent", "error kinds (examples)", "fix attempts", "first error"], rows, num_cols={0, 3}
        )
        return f"<p>{len(failed)} of {total} agents failed. They stay in the archive and in this report.</p>{table}"

    def manual(self) -> str | None:
        rules = self.archive.rules()
        text = compiled_manual(self.archive)
        if not rules and text is None:
            return None
        parts = []
        if text is not None:
            parts.append(
                f"<h3>Compiled manual (as last shown to the meta agent)</h3><pre>{_e(clip(text, _CLIP))}</pre>"
            )
        order = {"active": 0, "candidate": 1, "retired": 2}
        rows = []
        for rule in sorted(rules, key=lambda r: (order.get(r.status, 3), r.type, r.id)):
            lift = rule.lift
            lift_txt = "-" if lift is None else f"{lift:+.3f}"
            seen = f"shown {rule.shown_count} / hidden {rule.hidden_count}"
            evidence = ", ".join(
                f"{e.agent_id} (g{e.generation}{'' if e.score_change is None else f', {e.score_change:+.3f}'})"
                for e in rule.evidence[:6]
            )
            if len(rule.evidence) > 6:
                evidence += f", … {len(rule.evidence) - 6} more"
            rows.append(
                [
                    f"<code>{_e(rule.id)}</code>",
                    _e(rule.type),
                    _badge(rule.status),
                    _e(rule.scope) or '<span class="muted">-</span>',
                    _e(rule.text)
                    + (f'<div class="small muted">e.g. {_e(rule.example)}</div>' if rule.example else ""),
                    f'<span class="small">{_e(evidence) or "-"}</span>',
                    _e(lift_txt) + f'<div class="small muted">{_e(seen)}</div>',
                    _e(f"g{rule.created_gen}–g{rule.last_confirmed_gen}"),
                ]
            )
        if rows:
            active = sum(r.status == "active" for r in rules)
            parts.append(
                f"<h3>Rules ({active} active of {len(rules)})</h3>"
                + _table(
                    ["id", "type", "status", "scope", "rule", "evidence", "lift", "written–confirmed"],
                    rows,
                )
            )
        return "".join(parts)

    def reflections(self) -> str | None:
        refl = self.archive.reflections()
        if not refl:
            return None
        outcomes = Counter(r.outcome for r in refl)
        head = ", ".join(f"{n} {o}" for o, n in outcomes.most_common())
        rows = []
        for r in refl:
            items = [(_e(k.replace("_", " ")), _e(clip(v, 1200))) for k, v in payload_items(r.payload)]
            rows.append(
                [
                    _e(r.generation),
                    _agent_ref(r.agent_id, self.names),
                    f'<span class="outcome oc-{_e(r.outcome)}">{_e(r.outcome)}</span>',
                    _kv(items) if items else '<span class="muted">-</span>',
                ]
            )
        table = _table(["gen", "agent", "outcome", "reflection"], rows, num_cols={0})
        return f"<p>{len(refl)} reflection{'s' if len(refl) != 1 else ''}: {_e(head)}.</p>{table}"

    def monitor(self) -> str | None:
        series = monitor_series(self.archive)
        if not series:
            return None
        charts = []
        for i, (metric, points) in enumerate(series.items()):
            unit = all(0.0 <= v <= 1.0 for _, v in points)
            label = metric.replace("_", " ")
            charts.append(
                '<div class="chart-box monitor-chart">'
                + line_chart(
                    [Series(label, [(float(g), v) for g, v in points], PALETTE[i % len(PALETTE)])],
                    title=label,
                    x_label="generation",
                    y_label=label if len(label) < 24 else "value",
                    y_range=(0.0, 1.0) if unit else None,
                    width=420,
                    height=220,
                )
                + "</div>"
            )
        return (
            '<p class="small muted">The exploration/exploitation monitor, one figure per generation.</p>'
            f'<div class="grid" id="monitor">{"".join(charts)}</div>'
        )

    def code(self) -> str:
        blocks = []
        for a in sorted(self.agents, key=lambda a: (a.generation, a.created_at)):
            r = self.row_by_id[a.id]
            score = (
                fmt_score(r.search) if r.search else (f"screen {fmt_score(r.screen)}" if r.screen else "-")
            )
            facts = [
                ("id", f"<code>{_e(a.id)}</code>"),
                ("generation / origin", _e(f"{a.generation} / {a.origin}")),
                ("status", _badge(a.status)),
                ("parents", ", ".join(_agent_ref(p, self.names) for p in a.parents) or "-"),
                ("search", _e(fmt_score(r.search, with_n=True))),
            ]
            if r.screen:
                facts.append(("screen", _e(fmt_score(r.screen, with_n=True))))
            if r.test:
                facts.append(
                    ("sealed test", f'<span class="test">{_e(fmt_score(r.test, with_n=True))}</span>')
                )
            facts.append(("cost", _e(fmt_cost(r.cost_usd))))
            if a.meta:
                meta = json.dumps(a.meta, ensure_ascii=False, default=str)
                facts.append(("meta", f'<code class="small">{_e(clip(meta, 800))}</code>'))
            thought = (
                f'<h3>Thought</h3><div class="thought">{_e(clip(a.thought, _CLIP))}</div>'
                if a.thought.strip()
                else ""
            )
            history = ""
            reviews = self.archive.reviews(a.id)
            if reviews:
                history = "<h3>Self-review and debug rounds</h3>" + "".join(
                    f'<details><summary>{_e(rv.kind)} round {_e(rv.round)}</summary><div class="body">'
                    + (
                        f"<b>error shown</b><pre>{_e(clip(rv.error_shown, 2000))}</pre>"
                        if rv.error_shown
                        else ""
                    )
                    + f"<b>reply</b><pre>{_e(clip(rv.reply, 3000))}</pre></div></details>"
                    for rv in reviews
                )
            star = " ★ selected" if r.selected else ""
            blocks.append(
                f'<details id="code-{_e(a.id)}" class="agent"><summary>g{_e(a.generation)} · <b>{_e(a.name)}</b> '
                f'<code>{_e(a.id)}</code> {_badge(a.status)} <span class="muted">{_e(score)}</span>{star}'
                f'</summary><div class="body">{_kv(facts)}{thought}{history}<h3>Code</h3>'
                f"{_highlight(a.code)}</div></details>"
            )
        return "".join(blocks) or '<p class="muted">No agents.</p>'

    def event_log(self) -> str:
        if not self.events:
            return '<p class="muted">No events were logged.</p>'
        kinds = Counter(e.kind for e in self.events)
        summary = ", ".join(f"{k} ×{n}" for k, n in kinds.most_common())
        shown = self.events[-500:]
        rows = [
            [
                _e(e.ts.strftime("%H:%M:%S")),
                _e("-" if e.generation is None else e.generation),
                _e(e.kind),
                f'<code class="small">{_e(clip(json.dumps(e.payload, ensure_ascii=False, default=str), 400))}</code>',
            ]
            for e in shown
        ]
        more = f" (last 500 of {len(self.events)})" if len(self.events) > 500 else ""
        return (
            f"<p>{len(self.events)} events: {_e(summary)}.</p>"
            f'<details><summary>Event log{_e(more)}</summary><div class="body">'
            + _table(["time", "gen", "kind", "payload"], rows)
            + "</div></details>"
        )

    # --- page --------------------------------------------------------------------------------------------

    def render(self) -> str:
        from agentkit._version import __version__

        sections: list[tuple[str, str, str | None]] = [
            ("summary", "Run", self.summary()),
            ("selected", "Selected agent", self.selection()),
            ("progress", "Best score per generation", self.progress()),
            ("scores", "Every agent's score", self.scores()),
            ("lineage", "Lineage", self.lineage()),
            ("costs", "Cost by role", self.costs()),
            ("failures", "Failed candidates", self.failures()),
            ("manual", "Rule manual", self.manual()),
            ("reflections", "Reflections", self.reflections()),
            ("monitor", "Exploration monitor", self.monitor()),
            ("code", "Agents and their code", self.code()),
            ("events", "Events", self.event_log()),
        ]
        present = [(a, t, h) for a, t, h in sections if h is not None]
        nav = "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t, _ in present)
        body = "".join(f'<section id="{a}"><h2>{_e(t)}</h2>{h}</section>' for a, t, h in present)
        run = self.info.run_dir.name or str(self.info.run_dir)
        task = self.config.get("task")
        sub = " · ".join(
            x
            for x in (
                f"task {task}" if task else "",
                f"agent model {self.config['model']}" if self.config.get("model") else "",
                f"meta model {self.config['meta_model']}" if self.config.get("meta_model") else "",
                f"report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by agentkit {__version__}",
            )
            if x
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>agentkit report: {_e(run)}</title><style>{_CSS}</style></head><body>"
            f'<header><h1>agentkit report: {_e(run)}</h1><div class="sub">{_e(sub)}</div></header>'
            f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
        )


def build_report(archive: Archive) -> str:
    """The report of a run as one self-contained HTML document."""
    return _Report(archive).render()


def write_report(run_dir: str | Path, *, out: str | Path | None = None) -> Path:
    """Write `report.html` into the run directory (or to `out`) and return its path."""
    from agentkit.archive import Archive, write_atomic

    with Archive.open(run_dir, repair_files=False) as archive:
        html = build_report(archive)
        path = Path(out) if out is not None else archive.run_dir / REPORT_NAME
    write_atomic(path, html)
    return path
