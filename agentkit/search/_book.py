"""The run's books in the archive: every model call's usage booked the moment it settles, whether the
budget refused a call, what the run has spent, and `RunBook.step`, the one way a step is committed.

Usage is booked by a listener on the run's `LLMClient` (`LLMClient.add_listener`), so every call is
counted (the meta agent's, the agents' in the sandbox, the hooks') and a killed process loses from the
run's spend, and from its budget, at most the calls in flight. A step therefore needs no usage flush of
its own: it is its writes, its checkpoint and its event, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentkit.errors import BudgetExceeded

if TYPE_CHECKING:
    from agentkit.archive import Archive
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.llm import CallRecord, LLMClient
    from agentkit.search._config import SearchConfig


class RunBook:
    """Usage booking, the budget signal and step commits of one search session over `archive`."""

    def __init__(
        self,
        archive: Archive,
        client: LLMClient,
        *,
        spent_before: Mapping[str, float] | None = None,
        executor: ExampleExecutor | None = None,
        role: str | None = None,
    ) -> None:
        self.archive = archive
        self.role = role
        """The usage role every call is booked under (None: the call's own, e.g. agent or meta)."""
        self.client = client
        self.executor = executor
        """Where the agents' examples run when not here (a Ray cluster): its calls are booked too."""
        self.generation = 0
        """Generation that the usage of the next settled call is booked to."""
        self.refused: BudgetExceeded | None = None
        """The first budget refusal of this session (agent code may swallow the error, so the
        evaluation's records alone cannot tell)."""
        self.spent_before: dict[str, float] = dict(spent_before or {})
        """What earlier sessions of the run spent."""

    # --- booking -----------------------------------------------------------------------------------------

    def hear(self, call: CallRecord) -> None:
        """The client listener: book a sent call's usage, remember a budget refusal."""
        if isinstance(call.error, BudgetExceeded) and self.refused is None:
            self.refused = call.error
        if call.sent:
            self.archive.add_usage(
                self.generation,
                self.role or call.role,
                call.model,
                calls=1,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                cost_usd=call.cost_usd,
            )

    @contextmanager
    def attached(self) -> Iterator[RunBook]:
        """Listen to the client while the block runs (the client may be shared: it is left as found)."""
        self.client.add_listener(self.hear)
        if self.executor is not None:
            self.executor.add_listener(self.hear)
        try:
            yield self
        finally:
            self.client.remove_listener(self.hear)
            if self.executor is not None:
                self.executor.remove_listener(self.hear)

    # --- steps -------------------------------------------------------------------------------------------

    @contextmanager
    def step(
        self,
        generation: int | None,
        event: str | None = None,
        payload: Mapping[str, Any] | None = None,
        *,
        state: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """One step of the search, committed whole or not at all: the writes of the with-block, the
        checkpoint keys of `state` and the event `event` (of `generation`; None for events of the
        session, not of a generation). The block receives the
        event's payload (a copy of `payload`) and may add to it, e.g. the id of what it stored."""
        details = dict(payload or {})
        with self.archive.transaction():
            yield details
            for key, value in (state or {}).items():
                self.archive.set_state(key, value)
            if event is not None:
                self.archive.log_event(event, details, generation=generation)

    def commit(
        self,
        generation: int | None,
        event: str | None = None,
        payload: Mapping[str, Any] | None = None,
        *,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """A step with no further writes: just the checkpoint keys and the event."""
        with self.step(generation, event, payload, state=state):
            pass

    # --- spend -------------------------------------------------------------------------------------------

    def spent(self) -> dict[str, Any]:
        """Calls, tokens and dollars of the whole run so far (earlier sessions included); the dollars
        are those of priced calls, and `unpriced_calls` says how many calls had no price."""
        total = self.client.usage().total
        before = self.spent_before
        return {
            "calls": int(before.get("calls", 0)) + total.calls,
            "tokens": int(before.get("tokens", 0)) + total.total_tokens,
            "cost_usd": float(before.get("cost_usd", 0.0)) + (total.cost_usd or 0.0),
            "unpriced_calls": int(before.get("unpriced_calls", 0)) + total.unpriced_calls,
        }

    def spend_line(self, config: SearchConfig) -> str:
        """The spend against the run's limits, for the progress display."""
        s, b = self.spent(), config.budget
        parts = [
            f"{s['calls']} calls" + (f" / {b.max_calls}" if b.max_calls is not None else ""),
            f"{s['tokens']} tokens" + (f" / {b.max_tokens}" if b.max_tokens is not None else ""),
            f"${s['cost_usd']:.4f}"
            + (f" / ${b.max_cost_usd:g}" if b.max_cost_usd is not None else "")
            + (f" (+{s['unpriced_calls']} calls with no price)" if s["unpriced_calls"] else ""),
        ]
        return ", ".join(parts)
