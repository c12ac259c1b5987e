"""`report.html`: one self-contained page (inline CSS, inline SVG, no script, no network) about a run.

Agent code, names, thoughts and every model-written text are untrusted: each goes through `html.escape`
(or Pygments, which escapes too) before it reaches the page.

The page is put together here; its sections are rendered by `_html_run` (the run and its outcome),
`_html_detail` (what it did and spent) and `_html_effects` (what its components were measured to do),
from building blocks in `_html_parts`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agentkit.report import _html_detail, _html_effects, _html_run
from agentkit.report._html_parts import PAGE_CSS, RunView, esc

if TYPE_CHECKING:
    from agentkit.archive import Archive

REPORT_NAME = "report.html"


def _page(view: RunView) -> str:
    from agentkit._version import __version__

    sections: list[tuple[str, str, str | None]] = [
        ("summary", "Run", _html_run.summary(view)),
        ("selected", "Selected agent", _html_run.selection(view)),
        ("progress", "Best score per generation", _html_run.progress(view)),
        ("scores", "Every agent's score", _html_run.scores(view)),
        ("lineage", "Lineage", _html_run.lineage(view)),
        ("costs", "Cost by role", _html_detail.costs(view)),
        ("failures", "Failed candidates", _html_detail.failures(view)),
        ("manual", "Rule manual", _html_detail.manual(view)),
        ("effects", "Measured effects", _html_effects.effects(view)),
        ("reflections", "Reflections", _html_detail.reflections(view)),
        ("monitor", "Exploration monitor", _html_detail.monitor(view)),
        ("code", "Agents and their code", _html_detail.code(view)),
        ("events", "Events", _html_detail.event_log(view)),
    ]
    present = [(a, t, h) for a, t, h in sections if h is not None]
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in present)
    body = "".join(f'<section id="{a}"><h2>{esc(t)}</h2>{h}</section>' for a, t, h in present)
    run = view.info.run_dir.name or str(view.info.run_dir)
    task = view.config.get("task")
    sub = " · ".join(
        x
        for x in (
            f"task {task}" if task else "",
            f"agent model {view.config['model']}" if view.config.get("model") else "",
            f"meta model {view.config['meta_model']}" if view.config.get("meta_model") else "",
            f"report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by agentkit {__version__}",
        )
        if x
    )
    banner = ""
    if view.in_progress is not None:
        banner = (
            '<div class="banner" id="in-progress"><b>Run in progress.</b> '
            f"{esc(f'held by {view.in_progress.describe()}')}: this report is a snapshot; agents, scores "
            "and the selection may still change. Write it again when the run has finished.</div>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>agentkit report: {esc(run)}</title><style>{PAGE_CSS}</style></head><body>"
        f'<header><h1>agentkit report: {esc(run)}</h1><div class="sub">{esc(sub)}</div></header>'
        f"<nav>{nav}</nav><main>{banner}{body}</main></body></html>\n"
    )


def build_report(archive: Archive) -> str:
    """The report of a run as one self-contained HTML document."""
    return _page(RunView(archive))


def write_report(run_dir: str | Path, *, out: str | Path | None = None) -> Path:
    """Write `report.html` into the run directory (or to `out`) and return its path."""
    from agentkit.archive import Archive, write_atomic

    with Archive.open(run_dir, repair_files=False) as archive:
        html = build_report(archive)
        path = Path(out) if out is not None else archive.run_dir / REPORT_NAME
    write_atomic(path, html)
    return path
