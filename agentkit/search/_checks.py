"""Static checks of a proposal before anything runs: it parses, defines one `forward`, uses only the
runtime's names, and is not an agent the archive already holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive


def code_problems(code: str) -> list[str]:
    """What is wrong with `code` as agent source (empty when it passes the runtime's checks)."""
    if not code.strip():
        return ["the proposal contains no code"]
    from agentkit.runtime import check_agent_code

    return check_agent_code(code)


def duplicate_of(archive: Archive, agent: AgentRecord) -> AgentRecord | None:
    """The oldest other agent with the same normalised code, if any.

    Agents already rejected as duplicates do not count: they are copies, not originals. Otherwise two
    parallel candidates with the same code, where the later one was rejected while the earlier was still
    running when the process stopped, would on resume reject the earlier one too, and neither would run.
    Control agents (a proposal before self-review) do not count either: they never join the search.
    """
    for other in archive.find_by_hash(agent.code_hash):
        if other.id != agent.id and not other.meta.get("duplicate_of") and other.origin != "control":
            return other
    return None
