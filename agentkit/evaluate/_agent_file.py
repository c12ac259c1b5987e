"""Agent files: seeds, search results and exports share one readable format.

A module docstring whose first line is ``name: <Name>``, followed by the thought (free text, possibly
with other ``key: value`` header lines), then the code defining ``forward(self, taskInfo)``. The files
a run keeps in its ``agents/`` folder (first line ``Agent a0004: <Name>``, thought under ``Thought:``)
are read too.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from pydantic import BaseModel

from agentkit.errors import AgentCodeError

_HEADER = re.compile(r"^(\w[\w ]*):\s*(.*)$")
# First docstring line of the agent files an archive writes beside its database.
_ARCHIVE_HEADER = re.compile(r"^Agent (a\d+): (.+)$")


class AgentSpec(BaseModel):
    """An agent as it is stored in a file."""

    name: str
    """Human-readable name."""
    thought: str
    """Why the agent is designed the way it is."""
    code: str
    """The full Python source, docstring included."""
    source: str
    """Where it came from: a file path or a seed name."""


def _binds_forward(tree: ast.Module) -> bool:
    """Whether the module binds the name `forward` at its top level to something that may be a
    function (a def, an import, or an assignment of anything but a literal)."""
    value: ast.expr | None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "forward":
            return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (alias.asname or alias.name) == "forward" for alias in node.names
        ):
            return True
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        named = any(isinstance(t, ast.Name) and t.id == "forward" for t in targets)
        if named and value is not None and not isinstance(value, ast.Constant):
            return True
    return False


def parse_agent_source(code: str, *, source: str, require_forward: bool = False) -> AgentSpec:
    """Read name and thought from the module docstring of agent code. With `require_forward`, code
    that defines no `forward` is refused here (an agent file a user names), not in every example."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise AgentCodeError(f"{source}: agent code does not parse: line {exc.lineno}: {exc.msg}") from exc
    if require_forward and not _binds_forward(tree):
        raise AgentCodeError(f"{source}: defines no function forward(self, taskInfo), which an agent must")
    doc = ast.get_docstring(tree) or ""
    name = Path(source).stem
    lines = doc.splitlines()
    archived = _ARCHIVE_HEADER.match(lines[0].strip()) if lines else None
    if archived is not None:
        # A file of a run's agents/ folder: "Agent a0004: Name", facts, then an indented "Thought:".
        marks = [i for i, line in enumerate(lines) if line.strip() == "Thought:"]
        thought = textwrap.dedent("\n".join(lines[marks[-1] + 1 :])) if marks else ""
        return AgentSpec(name=archived.group(2).strip(), thought=thought.strip(), code=code, source=source)
    body: list[str] = []
    for i, line in enumerate(lines):
        match = _HEADER.match(line.strip())
        if i == 0 and match and match.group(1).lower() == "name":
            name = match.group(2).strip() or name
            continue
        body.append(line)
    return AgentSpec(name=name, thought="\n".join(body).strip(), code=code, source=source)


def read_agent_file(path: str | Path, *, require_forward: bool = True) -> AgentSpec:
    """Parse an agent file from disk; one that defines no `forward` is refused unless
    `require_forward` is False."""
    p = Path(path)
    try:
        code = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgentCodeError(f"cannot read agent file {p}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise AgentCodeError(
            f"agent file {p} is not UTF-8 text (byte {exc.start}): is it Python source?"
        ) from exc
    return parse_agent_source(code, source=str(p), require_forward=require_forward)


def seed_names() -> list[str]:
    """Names (file stems) of the built-in seed agents."""
    from agentkit._resources import seed_dir

    return sorted(p.stem for p in seed_dir().glob("*.py") if not p.name.startswith("_"))


def resolve_agent(name_or_path: str) -> AgentSpec:
    """An agent by seed name (``cot``) or by path to a ``.py`` file."""
    from agentkit._resources import seed_dir

    candidate = Path(name_or_path)
    if candidate.suffix == ".py" or candidate.exists():
        return read_agent_file(candidate)
    seed = seed_dir() / f"{name_or_path}.py"
    if seed.is_file():
        spec = read_agent_file(seed)
        return spec.model_copy(update={"source": name_or_path})
    known = ", ".join(seed_names()) or "(none found)"
    raise AgentCodeError(f"no agent named {name_or_path!r}: give a .py path or one of the seeds: {known}")
