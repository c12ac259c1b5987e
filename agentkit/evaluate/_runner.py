"""What the evaluator needs from whatever runs agent code (the sandbox, or in-process for trusted code)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentkit.sandbox import AgentRun

LLMHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class AgentRunner(Protocol):
    """Runs agent code on one question; `agentkit.sandbox.Sandbox` and `TrustedRunner` implement it."""

    async def run(self, code: str, question: str, *, answer_format: str, llm: LLMHandler) -> AgentRun:
        """Run `forward` of `code` on `question`, answering its model calls with `llm`."""
        ...
