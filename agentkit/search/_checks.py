"""Static checks of a proposal before anything runs: it parses, defines one `forward`, uses only the
runtime's names, and is not an agent the archive already holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.errors import AgentCodeError

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive


def code_problems(code: str) -> list[str]:
    """What is wrong with `code` as agent source (empty when it passes the runtime's checks)."""
    if not code.strip():
        return ["the proposal contains no code"]
    from agentkit.runtime import check_agent_code

    try:
        found: Any = check_agent_code(code)
    except AgentCodeError as exc:
        return [str(exc)]
    except SyntaxError as exc:  # a checker that lets the parser's error through
        return [f"SyntaxError: {exc}"]
    if found is None or found is True:
        return []
    if isinstance(found, str):
        return [found] if found else []
    if isinstance(found, list | tuple):
        return [str(p) for p in found]
    problems = getattr(found, "problems", None) or getattr(found, "errors", None)
    if problems is not None:
        return [str(p) for p in problems]
    return [] if getattr(found, "ok", True) else [str(found)]


def duplicate_of(archive: Archive, agent: AgentRecord) -> AgentRecord | None:
    """The oldest other agent with the same normalised code, if any."""
    for other in archive.find_by_hash(agent.code_hash):
        if other.id != agent.id:
            return other
    return None
