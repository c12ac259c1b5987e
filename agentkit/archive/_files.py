"""Agents as readable `.py` files beside the database. They are derived data: the database is the truth,
and every file can be written again from it."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

from agentkit.archive._models import AgentRecord

_SPLIT_ORDER = ("search", "screen", "test")
_FILE_RE = re.compile(r"^-?\d+_(?P<id>[A-Za-z0-9-]+)_[a-z0-9_]+\.py$")


def slugify(name: str, *, max_len: int = 40) -> str:
    """A file-name-safe form of an agent's name: lower case, `[a-z0-9_]` only, never empty."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:max_len].rstrip("_")
    return slug or "agent"


def agent_file_name(generation: int, agent_id: str, name: str) -> str:
    """`<gen>_<id>_<slug>.py`, e.g. `003_a0012_chain_of_thought.py`; sorts by generation."""
    return f"{generation:03d}_{agent_id}_{slugify(name)}.py"


def agent_id_of_file(file_name: str) -> str | None:
    """The agent id encoded in a file name written by `agent_file_name`, None for any other name."""
    match = _FILE_RE.match(file_name)
    return match.group("id") if match else None


def _docstring_safe(text: str) -> str:
    # Escape so that no thought or name can end the docstring early or start an escape sequence.
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return text.replace("\x00", "\\x00")  # a NUL byte is not allowed in source at all


def render_agent_file(agent: AgentRecord) -> str:
    """The file's text: a docstring with name, generation, parents, scores and thought, then the code."""
    lines = [
        f"Agent {agent.id}: {agent.name}",
        "",
        f"generation: {agent.generation}",
        f"origin: {agent.origin}",
        f"status: {agent.status}",
        f"parents: {', '.join(agent.parents) if agent.parents else '-'}",
        f"code hash: {agent.code_hash[:16]}",
    ]
    splits = [s for s in _SPLIT_ORDER if s in agent.summaries]
    splits += sorted(s for s in agent.summaries if s not in _SPLIT_ORDER)
    if not splits:
        lines.append("scores: not measured")
    for split in splits:
        summary = agent.summaries[split]
        acc = summary.accuracy
        cost = "" if summary.cost_usd is None else f", cost ${summary.cost_usd:.4f}"
        lines.append(
            f"{split} score: {acc.mean:.3f} [{acc.low:.3f}, {acc.high:.3f}] on {summary.n} examples"
            f" (error rate {summary.error_rate:.0%}{cost})"
        )
    lines += ["", "Thought:", textwrap.indent(agent.thought.strip() or "-", "    ")]
    header = _docstring_safe("\n".join(lines))
    # The header ends with a newline so a trailing quote in it cannot merge with the closing quotes.
    return f'"""{header}\n"""\n\n{agent.code.rstrip()}\n'


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part of either."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
