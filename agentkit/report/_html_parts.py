"""What every section of `report.html` draws on: the run collected once (`RunView`), the page's CSS,
escaping, and the small HTML builders (which take cells already escaped)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from agentkit.records import printable
from agentkit.report._adas_import import AdasReported, AdasScore
from agentkit.report._data import AgentRow, ScoreView, agent_row, run_settings, selected_agent
from agentkit.report._format import fmt_score

if TYPE_CHECKING:
    from agentkit.archive import Archive

PAGE_CSS = """
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
.banner { border-left:4px solid var(--warn); background:#fffbeb; padding:10px 14px; border-radius:4px;
          margin:18px 0 0; }
.adas { color:#6d28d9; }
.unscored { color:var(--warn); font-weight:600; }
"""


class RunView:
    """The run, collected once from its archive; every section renders from it."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.info = archive.info()
        self.config = run_settings(self.info.config)
        self.agents = archive.agents()
        self.by_id = {a.id: a for a in self.agents}
        self.names = {a.id: a.name for a in self.agents}
        best = selected_agent(archive)
        self.selected = best
        self.unscored = archive.unscored_counts()
        """Per agent id, per split: results the provider left unscored."""
        self.rows = [
            agent_row(a, selected_id=best.id if best else None, unscored=self.unscored.get(a.id))
            for a in self.agents
        ]
        self.row_by_id = {r.id: r for r in self.rows}
        self.events = archive.events()
        self.in_progress = archive.held_by()
        """The process writing to the run while the report was written, if any."""


def esc(value: Any) -> str:
    """HTML-escaped text, its control characters (a model may write ANSI colours into a name) shown as
    escapes; a Windows line end is an ordinary one."""
    return escape(printable(str(value).replace("\r\n", "\n")), quote=True)


def badge(status: str) -> str:
    return f'<span class="badge st-{esc(status)}">{esc(status)}</span>'


def html_table(
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


def kv_list(pairs: list[tuple[str, str]]) -> str:
    """A definition list from (escaped label, escaped value) pairs."""
    return '<dl class="kv">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def score_cell(score: ScoreView | None) -> str:
    return esc(fmt_score(score)) if score is not None else '<span class="muted">-</span>'


def unscored_note(row: AgentRow) -> str:
    """What to show beside an agent's score when the provider left examples of it unscored ("" if not)."""
    if not row.unscored:
        return ""
    title = "the provider failed these examples (not the agent): no score counts them"
    if row.waiting:
        text = f"waiting for {row.unscored} unscored example(s)"
        title += "; the agent is not compared or selected until they are scored (agentkit search --resume)"
    else:
        text = f"{row.unscored} unscored"
    return f' <span class="unscored" title="{esc(title)}">{esc(text)}</span>'


def fmt_adas(score: AdasScore | None) -> str:
    """ADAS's reported score as agentkit writes its own (``0.281 [0.203, 0.359]``), or ADAS's text when
    it held no numbers."""
    if score is None:
        return "-"
    if score.median is None:
        return score.text or "-"
    if score.low is None or score.high is None:
        return f"{score.median:.3f}"
    return f"{score.median:.3f} [{score.low:.3f}, {score.high:.3f}]"


def adas_cell(reported: AdasReported | None) -> str:
    """ADAS's reported scores (search fitness, and test fitness where given), escaped."""
    if reported is None or (reported.fitness is None and reported.test_fitness is None):
        return '<span class="muted">-</span>'
    text = fmt_adas(reported.fitness)
    if reported.test_fitness is not None:
        text += f"; test {fmt_adas(reported.test_fitness)}"
    return f'<span class="adas">{esc(text)}</span>'


def agent_ref(agent_id: str, names: dict[str, str]) -> str:
    name = names.get(agent_id)
    label = f"{name} ({agent_id})" if name else agent_id
    return f'<a href="#code-{esc(agent_id)}">{esc(label)}</a>'


def highlight_code(code: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pygments comes with rich; plain text is the fallback
        return f"<pre><code>{esc(code)}</code></pre>"
    return highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, style="friendly"))
