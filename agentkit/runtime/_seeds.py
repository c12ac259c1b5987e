"""The hand-written seed agents of `archives/seed/`. Host side only: the sandbox never imports this."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SeedAgent:
    """One seed agent file, split into what the archive and the meta agent need."""

    name: str
    """The display name from the docstring's ``name:`` line, e.g. ``"Chain-of-Thought"``."""
    thought: str
    """The paragraph that explains the idea behind the agent."""
    code: str
    """The source without its module docstring: the `forward` function and any imports."""
    path: Path
    """The file it was read from."""

    @property
    def key(self) -> str:
        """The short name used on the command line (the file stem, e.g. ``"cot_sc"``)."""
        return self.path.stem


def parse_seed_file(path: Path) -> SeedAgent:
    """Read one seed file. Its docstring starts with ``name: <Name>``, then a paragraph of thought."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    doc = ast.get_docstring(tree, clean=True)
    first = tree.body[0] if tree.body else None
    if not doc or first is None or not isinstance(first, ast.Expr):
        raise ValueError(f"{path}: a seed agent starts with a docstring 'name: <Name>' and a thought")
    head, _, rest = doc.partition("\n")
    if not head.lower().startswith("name:") or not head[5:].strip():
        raise ValueError(f"{path}: the docstring's first line must be 'name: <Name>'")
    thought = " ".join(rest.split())
    end_line = first.end_lineno or first.lineno
    code = "".join(source.splitlines(keepends=True)[end_line:]).strip() + "\n"
    return SeedAgent(name=head[5:].strip(), thought=thought, code=code, path=path)


def load_seed_agents(directory: Path | str | None = None) -> list[SeedAgent]:
    """Every seed agent, sorted by file name; `directory` defaults to the bundled `archives/seed`."""
    if directory is None:
        from agentkit._resources import seed_dir  # host only; keeps the runtime itself stdlib-only

        directory = seed_dir()
    files = sorted(p for p in Path(directory).glob("*.py") if not p.name.startswith("_"))
    return [parse_seed_file(p) for p in files]


def find_seed_agent(name: str, directory: Path | str | None = None) -> SeedAgent:
    """The seed agent whose key (``"cot_sc"``) or name matches `name`, ignoring case, ``-`` and ``_``."""

    def fold(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    agents = load_seed_agents(directory)
    for agent in agents:
        if fold(name) in (fold(agent.key), fold(agent.name)):
            return agent
    known = ", ".join(a.key for a in agents)
    raise KeyError(f"no seed agent named {name!r} (known: {known})")
