"""The sections of `report.html` about what the run did and spent: cost by role, failed candidates,
the rule manual, reflections, the exploration monitor, every agent's code, and the event log."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from agentkit.records import clip
from agentkit.report._data import (
    compiled_manual,
    failed_every_example,
    failure_view,
    monitor_series,
    payload_items,
)
from agentkit.report._format import fmt_cost, fmt_int, fmt_score
from agentkit.report._html_parts import (
    RunView,
    adas_cell,
    agent_ref,
    badge,
    esc,
    highlight_code,
    html_table,
    kv_list,
)
from agentkit.report._judged import JudgedExample, judged_examples
from agentkit.report._svg import PALETTE, Series, line_chart

_CLIP = 4000


def costs(run: RunView) -> str:
    by_role = run.archive.usage_by_role()
    usage = run.archive.usage()
    if not by_role:
        known = [r.cost_usd for r in run.rows if r.cost_usd is not None]
        total = fmt_cost(sum(known)) if known else "n/a"
        return (
            '<p class="muted">The run recorded no usage snapshots. Agent evaluation cost from the '
            f"evaluation summaries: {esc(total)}.</p>"
        )
    rows = []
    tot_calls = tot_p = tot_c = 0
    tot_cost: float | None = None
    for role, t in by_role.items():
        rows.append(
            [
                esc(role),
                esc(fmt_int(t.calls)),
                esc(fmt_int(t.prompt_tokens)),
                esc(fmt_int(t.completion_tokens)),
                esc(fmt_cost(t.cost_usd)),
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
            f"<b>{esc(fmt_cost(tot_cost))}</b>",
        ]
    )
    role_table = html_table(
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
            esc(role),
            f"<code>{esc(model)}</code>",
            esc(fmt_int(c)),
            esc(fmt_int(p)),
            esc(fmt_int(k)),
            esc(fmt_cost(cost)),
        ]
        for (role, model), (c, p, k, cost) in sorted(per_model.items())
    ]
    model_table = html_table(
        ["role", "model", "calls", "prompt tokens", "completion tokens", "cost"],
        model_rows,
        num_cols={2, 3, 4, 5},
    )
    note = (
        '<p class="small muted">Cost is n/a where the model has no known price (e.g. the embedded local '
        "model). Cached replies cost nothing and count no tokens.</p>"
    )
    return role_table + note + "<h3>By role and model</h3>" + model_table


def failures(run: RunView) -> str:
    failed = [a for a in run.agents if a.status == "failed" or failed_every_example(run.archive, a)]
    total = len(run.agents)
    if not failed:
        return f"<p>None of the {total} agents failed.</p>"
    rows = []
    for a in failed:
        view = failure_view(run.archive, a)
        kinds = ", ".join(f"{k} ×{n}" if n else k for k, n in view.error_kinds.items())
        if a.status != "failed":
            kinds = f"every example: {kinds}"
        attempt = a.meta.get("attempt")
        # a fix is an agent of its own: say which attempt this one was, beside the fixes asked of it
        which = f" (fix {attempt})" if isinstance(attempt, int) and attempt > 0 else ""
        rows.append(
            [
                esc(a.generation),
                agent_ref(a.id, run.names) + esc(which),
                f'<span class="errors">{esc(kinds or "unknown")}</span>',
                esc(view.debug_rounds),
                f'<code class="small">{esc(view.message or "-")}</code>',
            ]
        )
    table = html_table(
        ["gen", "agent", "error kinds (examples)", "fixes asked of it", "first error"], rows, num_cols={0, 3}
    )
    return (
        f"<p>{len(failed)} of {total} agents failed (as candidates, or on every example they ran). "
        f"They stay in the archive and in this report.</p>{table}"
    )


def manual(run: RunView) -> str | None:
    rules = run.archive.rules()
    text = compiled_manual(run.archive)
    if not rules and text is None:
        return None
    parts = []
    if text is not None:
        parts.append(
            f"<h3>Compiled manual (as last shown to the meta agent)</h3><pre>{esc(clip(text, _CLIP))}</pre>"
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
        origin = rule.imported_from
        rows.append(
            [
                f"<code>{esc(rule.id)}</code>"
                + (
                    ""
                    if origin is None
                    else f'<div class="small muted">imported: {esc(origin.rule_id)} of '
                    f"{esc(Path(origin.run_dir).name)}</div>"
                ),
                esc(rule.type),
                badge(rule.status),
                esc(rule.scope) or '<span class="muted">-</span>',
                esc(rule.text)
                + (f'<div class="small muted">e.g. {esc(rule.example)}</div>' if rule.example else ""),
                f'<span class="small">{esc(evidence) or "-"}</span>',
                esc(lift_txt) + f'<div class="small muted">{esc(seen)}</div>',
                esc(f"g{rule.created_gen}–g{rule.last_confirmed_gen}"),
            ]
        )
    if rows:
        active = sum(r.status == "active" for r in rules)
        parts.append(
            f"<h3>Rules ({active} active of {len(rules)})</h3>"
            + html_table(
                ["id", "type", "status", "scope", "rule", "evidence", "lift", "written–confirmed"],
                rows,
            )
        )
    return "".join(parts)


def reflections(run: RunView) -> str | None:
    refl = run.archive.reflections()
    if not refl:
        return None
    outcomes = Counter(r.outcome for r in refl)
    head = ", ".join(f"{n} {o}" for o, n in outcomes.most_common())
    rows = []
    for r in refl:
        items = [(esc(k.replace("_", " ")), esc(clip(v, 1200))) for k, v in payload_items(r.payload)]
        rows.append(
            [
                esc(r.generation),
                agent_ref(r.agent_id, run.names),
                f'<span class="outcome oc-{esc(r.outcome)}">{esc(r.outcome)}</span>',
                kv_list(items) if items else '<span class="muted">-</span>',
            ]
        )
    table = html_table(["gen", "agent", "outcome", "reflection"], rows, num_cols={0})
    return f"<p>{len(refl)} reflection{'s' if len(refl) != 1 else ''}: {esc(head)}.</p>{table}"


def monitor(run: RunView) -> str | None:
    series = monitor_series(run.archive)
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


def code(run: RunView) -> str:
    blocks = []
    for a in sorted(run.agents, key=lambda a: (a.generation, a.created_at)):
        r = run.row_by_id[a.id]
        score = fmt_score(r.search) if r.search else (f"screen {fmt_score(r.screen)}" if r.screen else "-")
        facts = [
            ("id", f"<code>{esc(a.id)}</code>"),
            ("generation / origin", esc(f"{a.generation} / {a.origin}")),
            ("status", badge(a.status)),
            ("parents", ", ".join(agent_ref(p, run.names) for p in a.parents) or "-"),
            ("search", esc(fmt_score(r.search, with_n=True))),
        ]
        if r.screen:
            facts.append(("screen", esc(fmt_score(r.screen, with_n=True))))
        if r.test:
            facts.append(("sealed test", f'<span class="test">{esc(fmt_score(r.test, with_n=True))}</span>'))
        if r.eval:
            facts.append(("eval (eval --run)", esc(fmt_score(r.eval, with_n=True))))
        if r.adas is not None:
            facts.append(("reported by ADAS", adas_cell(r.adas)))
        facts.append(("cost", esc(fmt_cost(r.cost_usd))))
        if a.meta:
            meta = json.dumps(a.meta, ensure_ascii=False, default=str)
            facts.append(("meta", f'<code class="small">{esc(clip(meta, 800))}</code>'))
        thought = (
            f'<h3>Thought</h3><div class="thought">{esc(clip(a.thought, _CLIP))}</div>'
            if a.thought.strip()
            else ""
        )
        history = ""
        reviews = run.archive.reviews(a.id)
        if reviews:
            history = "<h3>Self-review and debug rounds</h3>" + "".join(
                f'<details><summary>{esc(rv.kind)} round {esc(rv.round)}</summary><div class="body">'
                + (
                    f"<b>error shown</b><pre>{esc(clip(rv.error_shown, 2000))}</pre>"
                    if rv.error_shown
                    else ""
                )
                + f"<b>reply</b><pre>{esc(clip(rv.reply, 3000))}</pre></div></details>"
                for rv in reviews
            )
        star = " ★ selected" if r.selected else ""
        judged = judged_block(judged_examples(run.archive, a))
        blocks.append(
            f'<details id="code-{esc(a.id)}" class="agent"><summary>g{esc(a.generation)} · <b>{esc(a.name)}</b> '
            f'<code>{esc(a.id)}</code> {badge(a.status)} <span class="muted">{esc(score)}</span>{star}'
            f'</summary><div class="body">{kv_list(facts)}{thought}{history}{judged}<h3>Code</h3>'
            f"{highlight_code(a.code)}</div></details>"
        )
    return "".join(blocks) or '<p class="muted">No agents.</p>'


_JUDGED_ROWS = 50


def judged_block(judged: list[JudgedExample]) -> str:
    """An agent's judged answers with the judge's scores and rationales (escaped: both are model text)."""
    if not judged:
        return ""
    rows = [
        [
            f"<code>{esc(j.example_id)}</code>",
            esc(j.split),
            esc(f"{j.score:.2f}"),
            f'<div class="small">{esc(j.answer) or "-"}</div>',
            "".join(
                f'<div class="small"><b>{score:.2f}</b> {esc(rationale)}</div>'
                for score, rationale in zip(j.scores, j.rationales, strict=False)
            )
            + (f'<div class="small muted">{j.unreadable} unreadable</div>' if j.unreadable else ""),
        ]
        for j in judged[:_JUDGED_ROWS]
    ]
    models = ", ".join(sorted({j.judge_model for j in judged if j.judge_model})) or "?"
    more = len(judged) - _JUDGED_ROWS
    note = (
        f'<p class="small muted">… {more} more judged examples (agentkit show --json).</p>'
        if more > 0
        else ""
    )
    return (
        f"<h3>Judged examples ({len(judged)}; judge {esc(models)})</h3>"
        + html_table(
            ["example", "split", "score", "answer", "judgments (score, rationale)"], rows, num_cols={2}
        )
        + note
    )


def event_log(run: RunView) -> str:
    if not run.events:
        return '<p class="muted">No events were logged.</p>'
    kinds = Counter(e.kind for e in run.events)
    summary = ", ".join(f"{k} ×{n}" for k, n in kinds.most_common())
    shown = run.events[-500:]
    rows = [
        [
            esc(e.ts.strftime("%H:%M:%S")),
            esc("-" if e.generation is None else e.generation),
            esc(e.kind),
            f'<code class="small">{esc(clip(json.dumps(e.payload, ensure_ascii=False, default=str), 400))}</code>',
        ]
        for e in shown
    ]
    more = f" (last 500 of {len(run.events)})" if len(run.events) > 500 else ""
    return (
        f"<p>{len(run.events)} events: {esc(summary)}.</p>"
        f'<details><summary>Event log{esc(more)}</summary><div class="body">'
        + html_table(["time", "gen", "kind", "payload"], rows)
        + "</div></details>"
    )
