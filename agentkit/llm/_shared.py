"""What a cluster plugs into `LLMClient` so that several processes act as one client.

On one machine a client enforces its budget itself (`agentkit.llm._usage.Ledger`) and keeps its replies
in a SQLite file. Spread over processes on several machines, each process has its own client, so the
budget and the cache must live in one place that all of them ask: a `BudgetGate` takes every call's
reservation (before anything is sent) and its settlement, and a `ReplyStore` answers cache lookups.
`agentkit.distributed` implements both with Ray actors; the client only sees these protocols.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agentkit.llm._cache import CachedReply


class BudgetGate(Protocol):
    """One budget shared by several clients: every call reserves its worst case here first."""

    async def reserve(self, *, tokens: int, cost_usd: float | None) -> object:
        """Reserve a call's worst case and return a ticket for `settle`; raise `BudgetExceeded` (nothing
        is sent then) when the call could cross a limit of the shared budget."""
        ...

    def settle(
        self,
        ticket: object,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float | None,
        attempts: int,
        failed: bool,
    ) -> None:
        """Release the reservation of `ticket` and count what the call really spent. Must not block or
        wait (it runs while a cancelled call unwinds): send it and return."""
        ...


class ReplyStore(Protocol):
    """Where a client looks replies up and stores them (the SQLite `ReplyCache`, or a shared service).
    Called from a worker thread, so blocking is fine."""

    def get(self, key: str) -> CachedReply | None:
        """The stored reply for `key`, or None."""
        ...

    def put(self, key: str, *, model: str, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Store a reply (first writer wins)."""
        ...

    def close(self) -> None:
        """Let go of what the store holds open (it reopens on next use)."""
        ...
