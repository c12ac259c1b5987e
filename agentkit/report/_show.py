"""`agentkit show`: the agents table and one agent in detail, as data (for `--json`) and as rich renderables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agentkit.archive import AgentRecord, LockHolder, ReflectionRecord, ReviewRecord
from agentkit.records import clip, printable
from agentkit.report._adas_import import AdasScore
from agentkit.report._data import (
    AgentRow,
    FailureView,
    ScoreView,
    SortKey,
    agent_row,
    agent_rows,
    failed_every_example,
    failure_view,
    run_settings,
    selected_agent,
)
from agentkit.report._effects import Effects, ImportedRule, run_effects
from agentkit.report._format import fmt_cost, fmt_score
from agentkit.report._judged import JudgedExample, judged_examples

if TYPE_CHECKING:
    from rich.console import RenderableType

    from agentkit.archive import Archive


class RunTable(BaseModel):
    """Everything `agentkit show RUN_DIR` prints."""

    run_dir: str
    """The run directory."""
    in_progress: LockHolder | None = None
    """The process writing to the run right now (a search, resume, import or evaluation), if any: its
    pid, host, command and since when. The table is a snapshot of a run in progress then."""
    task: str | None = None
    """The run's task, if its configuration names one."""
    status: str | None = None
    """The search's state as last stored: "running", "finished", "interrupted", "budget_exhausted" or
    "error" (None for a run no search wrote). "running" with no process holding the run means it was
    killed."""
    selected: str | None = None
    """Id of the agent selected by the search-split lower bound (None before any evaluation)."""
    agents: list[AgentRow] = Field(default_factory=list)
    """One row per agent, sorted."""
    effects: Effects | None = None
    """What the search's components were measured to do: rule lift, complementary against random
    partners, self-review, each with its interval and sample count (see `agentkit.report._effects`)."""


class AgentDetail(BaseModel):
    """Everything `agentkit show RUN_DIR AGENT` prints."""

    agent: AgentRecord
    """The agent with its code, thought, lineage and summaries."""
    row: AgentRow
    """Its scores as in the table."""
    reviews: list[ReviewRecord] = Field(default_factory=list)
    """Self-review and debug rounds, in order."""
    reflections: list[ReflectionRecord] = Field(default_factory=list)
    """Reflections on it, in order."""
    failure: FailureView | None = None
    """Why it failed, when its status is failed."""
    children: list[str] = Field(default_factory=list)
    """Ids of agents derived from it."""
    in_progress: LockHolder | None = None
    """The process writing to the run right now, if any (see `RunTable.in_progress`)."""
    judged: list[JudgedExample] = Field(default_factory=list)
    """For a task scored by an LLM judge: each judged answer with the judge's scores and rationales
    (clipped; empty for every other scorer)."""


JUDGED_SHOWN = 20
"""Judged examples printed by `render_detail` (``--json`` has them all)."""


def run_table(archive: Archive, *, sort: SortKey = "score") -> RunTable:
    """The table data of a run."""
    best = selected_agent(archive)
    task = run_settings(archive.config).get("task")
    return RunTable(
        run_dir=str(archive.run_dir),
        in_progress=archive.held_by(),
        task=task if isinstance(task, str) else None,
        status=_status(archive),
        selected=best.id if best else None,
        agents=agent_rows(archive, sort=sort),
        effects=run_effects(archive),
    )


def agent_detail(archive: Archive, id_or_name: str) -> AgentDetail:
    """One agent in detail, by id or unique name (ArchiveError when unknown or ambiguous)."""
    agent = archive.agent(id_or_name)
    best = selected_agent(archive)
    return AgentDetail(
        agent=agent,
        row=agent_row(
            agent, selected_id=best.id if best else None, unscored=archive.unscored_counts().get(agent.id)
        ),
        reviews=archive.reviews(agent.id),
        reflections=archive.reflections(agent_id=agent.id),
        failure=(
            failure_view(archive, agent)
            if agent.status == "failed" or failed_every_example(archive, agent)
            else None
        ),
        children=[child for parent, child in archive.lineage() if parent == agent.id],
        in_progress=archive.held_by(),
        judged=judged_examples(archive, agent),
    )


def _status(archive: Archive) -> str | None:
    status = archive.get_state("status", None)
    return status if isinstance(status, str) else None


def stopped_line(table: RunTable) -> str | None:
    """What to say of a search that did not finish, and how to go on (None when there is nothing to say)."""
    if table.in_progress is not None:  # (its writer is at work: `in_progress_line` says so)
        return None
    again = f"continue with: agentkit search --resume {table.run_dir}"
    said = {
        "running": f"this search stopped without finishing (killed, or its machine went down); {again}",
        "interrupted": f"this search was interrupted; {again}",
        "error": f"this search stopped on an error (its last event says which); once mended, {again}",
    }
    return said.get(table.status or "")


def in_progress_line(holder: LockHolder) -> str:
    """``run in progress: held by pid 4242 on gpu-3 since 2025-01-01T10:00:00+00:00 (agentkit search ...)``"""
    return f"run in progress: held by {holder.describe()}"


def open_run(run_dir: str | Path) -> Archive:
    """Open a run's archive for reading (no agent files are rewritten, no lock is taken: this works while
    a search writes to the run)."""
    from agentkit.archive import Archive

    return Archive.open(run_dir, repair_files=False)


_STATUS_STYLE = {"evaluated": "green", "screened": "blue", "failed": "red", "proposed": "dim"}


def render_table(table: RunTable) -> RenderableType:
    """The agents table as a rich Table."""
    from rich import box
    from rich.table import Table

    title = _safe_text(f"{table.run_dir}" + (f" · task {table.task}" if table.task else ""))
    out = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        pad_edge=False,
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )
    has_test = any(r.test is not None for r in table.agents)
    has_eval = any(r.eval is not None for r in table.agents)
    has_adas = any(r.adas is not None for r in table.agents)
    # A screened agent's search score covers only the screening subset it stopped after.
    sizes = sorted({r.search.n for r in table.agents if r.search is not None and r.status != "screened"})
    screen_sizes = sorted(
        {r.search.n for r in table.agents if r.search is not None and r.status == "screened"}
    )
    out.add_column("gen", justify="right", no_wrap=True)
    out.add_column("id", no_wrap=True)
    out.add_column("name", overflow="fold", min_width=12, ratio=1)
    out.add_column("status", no_wrap=True)
    out.add_column("search [95% CI]", justify="right", no_wrap=True)
    if has_test:
        out.add_column("test", justify="right", no_wrap=True)
    if has_eval:
        out.add_column("eval [95% CI]", justify="right", no_wrap=True)
    if has_adas:
        out.add_column("ADAS reported", justify="right", no_wrap=True)
    # The provider failed these examples, not the agent: no score counts them.
    has_unscored = any(r.unscored for r in table.agents)
    if has_unscored:
        out.add_column("unscored", justify="right", no_wrap=True)
    out.add_column("cost", justify="right", no_wrap=True)
    out.add_column("parents", overflow="ellipsis", no_wrap=True, max_width=14)
    for r in table.agents:
        search = _short_score(r.search)
        if r.search is None and r.screen is not None:
            search = f"screen {r.screen.mean:.2f}"
        name = _safe_text(r.name + (" ★" if r.selected else ""), style="bold green" if r.selected else "")
        cells: list[RenderableType] = [
            str(r.generation),
            r.id,
            name,
            _safe_text(r.status, style=_STATUS_STYLE.get(r.status, "")),
            search,
        ]
        if has_test:
            cells.append(f"{r.test.mean:.2f}" if r.test else "-")
        if has_eval:
            cells.append(_short_score(r.eval))
        if has_adas:
            cells.append(_adas_cell(r))
        if has_unscored:
            cells.append(_unscored_cell(r))
        cells += [fmt_cost(r.cost_usd), ", ".join(r.parents) or "-"]
        out.add_row(*cells)
    notes = []
    if sizes:
        notes.append(f"search split: {', '.join(map(str, sizes))} examples")
    if screen_sizes:
        notes.append(f"screened: stopped after the first {', '.join(map(str, screen_sizes))}")
    if has_test:
        notes.append("test = sealed test split, scored once at the end, never used to select")
    if has_eval:
        notes.append("eval = scored here by `agentkit eval --run`")
    if has_adas:
        notes.append("ADAS reported = ADAS's own median [interval] (its examples and model), test if given")
    unscored = [r for r in table.agents if r.unscored]
    if unscored:
        note = (
            f"{sum(r.unscored for r in unscored)} example(s) of {len(unscored)} agent(s) unscored: the "
            "provider failed them, no score counts them"
        )
        if any(r.waiting for r in unscored):
            note += f"; `agentkit search --resume {table.run_dir}` scores them"
        notes.append(note)
    if not table.agents:
        notes.append("no agents yet")
    elif table.selected:
        notes.append(f"★ selected by search-split lower bound: {table.selected}")
    else:
        notes.append("no agent has a search-split score yet")
    out.caption = _safe_text(" · ".join(notes))
    out.caption_justify = "left"
    parts: list[RenderableType] = [out]
    if table.in_progress is not None:
        parts.insert(0, _safe_text(in_progress_line(table.in_progress), style="bold yellow"))
    stopped = stopped_line(table)
    if stopped is not None:
        parts.insert(0, _safe_text(stopped, style="bold yellow"))
    if table.effects is not None and table.effects.imported:
        parts.append(render_imported(table.effects.imported))
    if len(parts) == 1:
        return out
    from rich.console import Group

    return Group(*parts)


def _unscored_cell(row: AgentRow) -> RenderableType:
    if not row.unscored:
        return "-"
    if row.waiting:
        # Not compared or selected until they are scored.
        return _safe_text(f"{row.unscored} (waiting)", style="yellow")
    return str(row.unscored)


def render_imported(rules: list[ImportedRule]) -> RenderableType:
    """The rules a run carried over from another run's manual (``--manual-from``): which survived and
    which were retired (and why), each with its lift measured in this run."""
    from rich import box
    from rich.table import Table

    survived = sum(r.survived for r in rules)
    sources = sorted({Path(r.origin.run_dir).name for r in rules})
    out = Table(
        title=_safe_text(
            f"rules imported from {', '.join(sources)}: {survived} survived, {len(rules) - survived} retired"
        ),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("rule", "from", "fate", "lift here [95% CI]", "n shown/hidden", "text"):
        out.add_column(column, overflow="fold", no_wrap=column in ("rule", "from"))
    for r in rules:
        fate = "survived" if r.survived else f"retired g{r.retired_generation}: {r.retired_reason}"
        lift = "-" if r.lift is None else f"{r.lift.mean:+.3f} [{r.lift.low:+.3f},{r.lift.high:+.3f}]"
        out.add_row(
            r.rule_id,
            r.origin.rule_id,
            _safe_text(clip(fate, 160), style="green" if r.survived else "red"),
            f"{lift} ({r.verdict})",
            f"{r.shown}/{r.hidden}",
            _safe_text(r.text),
        )
    return out


def render_detail(detail: AgentDetail) -> RenderableType:
    """One agent: facts, thought, highlighted code, review/debug history and reflections."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

    a, r = detail.agent, detail.row
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("id", a.id + ("  ★ selected" if r.selected else ""))
    facts.add_row("generation", f"{a.generation} ({a.origin})")
    facts.add_row("status", _safe_text(a.status, style=_STATUS_STYLE.get(a.status, "")))
    facts.add_row("parents", _safe_text(", ".join(a.parents) or "-"))
    if detail.children:
        facts.add_row("children", ", ".join(detail.children))
    facts.add_row("search", fmt_score(r.search, with_n=True))
    if r.screen:
        facts.add_row("screen", fmt_score(r.screen, with_n=True))
    facts.add_row("test (sealed)", fmt_score(r.test, with_n=True))
    if r.eval:
        facts.add_row("eval (eval --run)", fmt_score(r.eval, with_n=True))
    if r.adas is not None:
        if r.adas.fitness is not None:
            facts.add_row("ADAS reported", _safe_text(_adas_text(r.adas.fitness)))
        if r.adas.test_fitness is not None:
            facts.add_row("ADAS reported test", _safe_text(_adas_text(r.adas.test_fitness)))
    facts.add_row("cost", fmt_cost(r.cost_usd))
    if r.unscored:
        wait = "; not compared or selected until `agentkit search --resume` scores them" if r.waiting else ""
        facts.add_row(
            "unscored", _safe_text(f"{r.unscored} example(s) the provider failed{wait}", style="yellow")
        )
    if detail.failure is not None:
        kinds = ", ".join(f"{k} ×{n}" if n else k for k, n in detail.failure.error_kinds.items()) or "unknown"
        message = detail.failure.message or "-"
        # "duplicate of a0006" as kind and "duplicate of a0006 (...)" as message: say it once.
        text = message if message.startswith(kinds) else f"{kinds}: {message}"
        label = "failed" if a.status == "failed" else "failed every example"
        facts.add_row(label, _safe_text(text, style="red"))
    for key, value in a.meta.items():
        facts.add_row(_safe_text(f"meta.{key}"), _safe_text(_short(value)))
    parts: list[Any] = []
    if detail.in_progress is not None:
        parts.append(_safe_text(in_progress_line(detail.in_progress), style="bold yellow"))
    parts.append(Panel(facts, title=_safe_text(a.name, style="bold"), title_align="left"))
    if a.thought.strip():
        parts.append(Panel(_safe_text(a.thought.strip()), title="thought", title_align="left"))
    parts.append(
        Panel(
            Syntax(_clean(a.code), "python", line_numbers=True, word_wrap=True),
            title="code",
            title_align="left",
        )
    )
    for rv in detail.reviews:
        body = Text()
        if rv.error_shown:
            body.append("error shown: ", style="bold red")
            body.append(_clean(rv.error_shown.strip()) + "\n")
        body.append(_clean(clip(rv.reply.strip(), 2000)))
        parts.append(
            Panel(
                body, title=_safe_text(f"{rv.kind} round {rv.round}"), title_align="left", border_style="dim"
            )
        )
    for rf in detail.reflections:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column()
        for key, value in rf.payload.items():
            grid.add_row(_safe_text(key), _safe_text(_short(value, 600)))
        parts.append(
            Panel(
                grid,
                title=_safe_text(f"reflection g{rf.generation}: {rf.outcome}"),
                title_align="left",
                border_style="cyan",
            )
        )
    if detail.judged:
        parts.append(_judged_panel(detail.judged))
    return Group(*parts)


def _judged_panel(judged: list[JudgedExample]) -> RenderableType:
    """The judge's scores and rationales per example (the first `JUDGED_SHOWN`)."""
    from rich.panel import Panel
    from rich.text import Text

    body = Text()
    for i, j in enumerate(judged[:JUDGED_SHOWN]):
        if i:
            body.append("\n")
        body.append(_clean(f"{j.example_id}"), style="bold")
        body.append(_clean(f"  ({j.split})  score {j.score:.2f}"))
        if j.judge_model:
            body.append(_clean(f"  judge {j.judge_model}"), style="dim")
        body.append("\n  answer: ", style="dim")
        body.append(_clean(j.answer or "-") + "\n")
        for score, rationale in zip(j.scores, j.rationales, strict=False):
            body.append(f"  {score:.2f} ", style="cyan")
            body.append(_clean(rationale) + "\n")
        if j.unreadable:
            body.append(f"  {j.unreadable} judgment(s) unreadable\n", style="yellow")
    more = len(judged) - JUDGED_SHOWN
    if more > 0:
        body.append(f"\n... {more} more judged examples (all of them with --json)", style="dim")
    return Panel(body, title=f"judged examples ({len(judged)})", title_align="left", border_style="magenta")


def _clean(text: str) -> str:
    """`text` with control characters shown as escapes (`agentkit.records.printable`)."""
    return printable(text)


def _safe_text(text: str, style: str = "") -> Any:
    from rich.text import Text

    return Text(_clean(text), style=style)


def _adas_number(score: AdasScore | None) -> str:
    if score is None or score.median is None:
        return "-"
    if score.low is None or score.high is None:
        return f"{score.median:.2f}"
    return f"{score.median:.2f} [{score.low:.2f},{score.high:.2f}]"


def _adas_cell(row: AgentRow) -> str:
    if row.adas is None:
        return "-"
    text = _adas_number(row.adas.fitness)
    if row.adas.test_fitness is not None:
        text += f" · test {_adas_number(row.adas.test_fitness)}"
    return text


def _adas_text(score: AdasScore) -> str:
    """Numbers first (as fractions, like agentkit's), then ADAS's own words."""
    numbers = _adas_number(score)
    if score.text and numbers != "-":
        return f"{numbers}  ({score.text})"
    return score.text or numbers


def _short_score(score: ScoreView | None) -> str:
    return "-" if score is None else f"{score.mean:.2f} [{score.low:.2f},{score.high:.2f}]"


def _short(value: Any, limit: int = 200) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return clip(text, limit)
