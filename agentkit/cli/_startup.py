"""What `eval` and `bench` do before evaluating: start the sandbox while the rest of agentkit imports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.cli._cluster import ExecutorChoice

SANDBOXED = ("auto", "bwrap", "process")
"""The isolation values that start a sandbox on this machine (``trusted`` runs agent code in-process)."""


class EarlySandbox:
    """The sandbox of an `eval` or `bench` started before the rest of agentkit is imported: its first
    worker boots in a process of its own (about 0.15 s) while this one imports (about 0.3 s)."""

    def __init__(self, isolation: str, concurrency: int, timeout: float) -> None:
        from agentkit.sandbox import Sandbox, SandboxConfig

        config = SandboxConfig(max_examples=concurrency, wall_time_s=timeout, isolation=isolation)
        self.sandbox = Sandbox(config)
        self.starting = asyncio.ensure_future(self.sandbox.start())

    @classmethod
    def maybe(
        cls, isolation: str, concurrency: int, timeout: float, where: ExecutorChoice | None
    ) -> EarlySandbox | None:
        """One for a sandboxed run on this machine; None otherwise (trusted, a cluster, a bad value)."""
        local = where is None or where.kind == "local"
        return cls(isolation, concurrency, timeout) if local and isolation in SANDBOXED else None

    async def aclose(self) -> None:
        """Stop it (once its start is over: a start cut short could leave a worker behind)."""
        await asyncio.gather(self.starting, return_exceptions=True)
        await self.sandbox.aclose()


def import_evaluation(specs: list[Any] | Callable[[], list[Any]]) -> list[Any]:
    """Import what an evaluation needs, and resolve the agents (which needs the same imports)."""
    import agentkit.evaluate
    import agentkit.llm
    import agentkit.tasks  # noqa: F401

    return specs() if callable(specs) else specs
