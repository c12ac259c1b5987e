"""`agentkit export`: one agent of a run as a standalone agent file that `agentkit.load_agent` runs.

The file is the format of `agentkit.evaluate._agent_file`: a module docstring whose first line is
``name: <Name>``, then the thought, then where the agent came from (task, models, scores, run, date); then
the agent's code, with any docstring it carried removed so that ours is the one that counts.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentkit.archive import LockHolder
from agentkit.errors import AgentCodeError, ArchiveError
from agentkit.report._adas_import import defines_forward
from agentkit.report._data import ScoreView, run_settings, score_view, selected_agent
from agentkit.report._format import fmt_score

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord

BEST_FILE = "best.py"


class ExportResult(BaseModel):
    """What `export_agent` wrote."""

    path: Path
    """The agent file written."""
    agent_id: str
    """Id of the exported agent in the run."""
    name: str
    """Its name (the file's ``name:`` line)."""
    search: ScoreView | None
    """Its search-split score."""
    test: ScoreView | None
    """Its sealed test score, where measured."""
    selected: bool
    """True when it is the run's selected agent (search-split lower bound)."""
    in_progress: LockHolder | None = None
    """The process writing to the run when it was exported, if any: a run in progress may still select
    another agent."""


def strip_module_docstring(code: str) -> str:
    """`code` without its leading module docstring (unchanged when it has none)."""
    tree = ast.parse(code)
    if not tree.body:
        return code
    first = tree.body[0]
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return code
    lines = code.splitlines(keepends=True)
    end = first.end_lineno or first.lineno
    rest = lines[end:]
    # A statement sharing the docstring's last line (`"""doc"""; x = 1`) keeps its text after the quotes.
    tail = lines[end - 1][first.end_col_offset or 0 :].lstrip(" \t;") if end - 1 < len(lines) else ""
    head = lines[: first.lineno - 1]
    return "".join(head) + (tail if tail.strip() else "") + "".join(rest).lstrip("\n")


def _docstring_safe(text: str) -> str:
    # Nothing in a name or thought may end the docstring early or start an escape sequence.
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return text.replace("\x00", "\\x00").replace("\r\n", "\n").replace("\r", "\n")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render_export(
    agent: AgentRecord,
    *,
    config: dict[str, Any],
    run_dir: Path,
    exported_at: datetime | None = None,
    file_name: str = "my_agent.py",
) -> str:
    """The text of the exported agent file."""
    from agentkit._version import __version__

    try:
        body = strip_module_docstring(agent.code)
    except SyntaxError as exc:
        raise AgentCodeError(
            f"agent {agent.id} ({agent.name}) has code that does not parse (line {exc.lineno}: {exc.msg});"
            " there is nothing runnable to export"
        ) from exc
    if not defines_forward(ast.parse(body)):
        raise AgentCodeError(
            f"agent {agent.id} ({agent.name}) has no forward function (its proposal failed before it had "
            "code); there is nothing runnable to export"
        )
    when = (exported_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    search, test = score_view(agent.summaries.get("search")), score_view(agent.summaries.get("test"))
    task = config.get("task")
    lines = [f"name: {_one_line(agent.name) or agent.id}", ""]
    if agent.thought.strip():
        lines += [agent.thought.strip(), ""]
    lines += ["Exported from an agentkit Meta Agent Search run.", ""]
    lines.append(f"task: {task or 'unknown'}")
    lines.append(f"agent model: {config.get('model') or 'unknown'}")
    if config.get("meta_model"):
        lines.append(f"meta model: {config['meta_model']}")
    lines.append(
        f"search score: {fmt_score(search)} on {search.n} examples ({search.confidence:.0%} interval)"
        if search
        else "search score: not measured"
    )
    lines.append(
        f"sealed test score: {fmt_score(test)} on {test.n} examples"
        if test
        else "sealed test score: not measured"
    )
    adas = agent.meta.get("adas_fitness")
    if isinstance(adas, str) and adas:
        lines.append(f"ADAS fitness (measured by ADAS, elsewhere): {_one_line(adas)}")
    lines.append(f"run: {run_dir.resolve()}")
    lines.append(
        f"agent: {agent.id}, generation {agent.generation}, origin {agent.origin}, "
        f"parents {', '.join(agent.parents) or '-'}"
    )
    lines.append(f"exported: {when} by agentkit {__version__}")
    lines += [
        "",
        "Use it in an app (the code runs in agentkit's sandbox; its model calls go through agentkit):",
        "",
        "    import agentkit",
        f"    with agentkit.load_agent({file_name!r}, {_load_arguments(config)}) as agent:",
        '        print(agent("your question").answer)',
    ]
    doc = _docstring_safe("\n".join(lines))
    return f'"""{doc}\n"""\n\n\n{body.strip()}\n'


def _load_arguments(config: dict[str, Any]) -> str:
    """`load_agent`'s arguments that reproduce the run's setting: its model (at its own endpoint, when it
    had one) and its task with the task's options, so the usage lines run as they are."""
    # The model the scores were measured with; "local" runs anywhere when the run names none.
    model = config.get("model") if isinstance(config.get("model"), str) and config.get("model") else "local"
    api_base = config.get("api_base")
    model_arg = (
        f"agentkit.ModelConfig(model={model!r}, api_base={api_base!r})"
        if isinstance(api_base, str) and api_base
        else repr(model)
    )
    task = config.get("task")
    if not isinstance(task, str) or not task:
        return f"model={model_arg}"
    # nested in an ADAS import's flat settings, by dotted key in a search's (`run_settings`)
    found = config.get("task_options")
    options = dict(found) if isinstance(found, dict) else {}
    prefix = "task_options."
    options |= {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}
    if config.get("data_dir"):
        options["data_dir"] = str(config["data_dir"])
    if not options:
        return f"model={model_arg}, task={task!r}"
    if all(str(key).isidentifier() for key in options):
        given = ", ".join(f"{key}={value!r}" for key, value in options.items())
    else:
        given = f"**{options!r}"
    return f"model={model_arg}, task=agentkit.load_task({task!r}, {given})"


def default_export_path(run_dir: Path, agent: AgentRecord, *, chosen: bool) -> Path:
    """`<run_dir>/best.py` for the selected agent, `<run_dir>/<id>_<slug>.py` for one named explicitly."""
    if chosen:
        return run_dir / BEST_FILE
    slug = re.sub(r"[^a-z0-9]+", "_", agent.name.lower()).strip("_")[:40] or "agent"
    return run_dir / f"{agent.id}_{slug}.py"


def export_agent(
    run_dir: str | Path, agent: str | None = None, *, out: str | Path | None = None
) -> ExportResult:
    """Write one agent of a run (default: the selected one, by search-split lower bound) as an agent file.

    Returns what was written. ArchiveError when the run has no evaluated agent and none is named."""
    from agentkit.archive import Archive, write_atomic
    from agentkit.evaluate import read_agent_file

    with Archive.open(run_dir, repair_files=False) as archive:
        best = selected_agent(archive)
        if agent is None:
            if best is None:
                raise ArchiveError(
                    f"{run_dir}: no agent has a search-split score yet, so none is selected; name one to export"
                )
            record = best
        else:
            record = archive.agent(agent)
        config = run_settings(archive.config)
        run_path = archive.run_dir
        holder = archive.held_by()
    path = Path(out) if out is not None else default_export_path(run_path, record, chosen=agent is None)
    text = render_export(record, config=config, run_dir=run_path, file_name=path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    spec = read_agent_file(path, require_forward=False)  # any agent of the run may be exported
    if spec.name != (_one_line(record.name) or record.id):  # the format must round-trip, or the file lies
        path.unlink(missing_ok=True)
        raise AgentCodeError(
            f"internal error: exported file names the agent {spec.name!r}, not {record.name!r}"
        )
    return ExportResult(
        path=path,
        agent_id=record.id,
        name=spec.name,
        search=score_view(record.summaries.get("search")),
        test=score_view(record.summaries.get("test")),
        selected=best is not None and best.id == record.id,
        in_progress=holder,
    )
