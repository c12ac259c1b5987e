"""Where an evaluation's examples run: here (the session's client and runner), or spread over a cluster.

The evaluator owns this protocol; `agentkit.distributed.RayExecutor` implements it with Ray actors that
each host a sandbox and an LLM client. Whatever runs the examples only returns their results: the caller
(the driver) alone records them, in order, through `on_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agentkit.llm import BudgetGate, CallListener, ModelConfig, PauseListener, ReplyStore
    from agentkit.records import ExampleResult
    from agentkit.tasks import Example, Task

ResultCallback = Callable[["ExampleResult"], None]


class ExampleExecutor(Protocol):
    """Runs an agent on examples somewhere else than this process, and gives back their results."""

    isolation_level: str
    """How agent code is isolated where it runs (the sandbox's level there)."""
    budget_gate: BudgetGate | None
    """The budget every client of the run must reserve through (None: each client enforces its own)."""
    reply_store: ReplyStore | None
    """The reply cache every client of the run shares (None: each uses its local cache file)."""

    async def run_examples(
        self,
        code: str,
        examples: Sequence[Example],
        task: Task,
        *,
        model: ModelConfig,
        trace_chars: int,
        on_result: ResultCallback | None,
    ) -> list[ExampleResult]:
        """Run `code` on every example, and return one result per example in the order given. Each
        example counts once: one lost with its worker is run again elsewhere, and `on_result` sees
        each result once, as it lands."""
        ...

    def add_listener(self, listener: CallListener) -> None:
        """Hear of every model call made where the examples run (as `LLMClient.add_listener` does)."""
        ...

    def remove_listener(self, listener: CallListener) -> None:
        """Stop hearing of them."""
        ...

    def add_pause_listener(self, listener: PauseListener) -> None:
        """Hear when a model pauses where the examples run, and when it answers again (as
        `LLMClient.add_pause_listener` does)."""
        ...

    def remove_pause_listener(self, listener: PauseListener) -> None:
        """Stop hearing of them."""
        ...
