"""The evaluation actor: one per slot of the cluster, hosting a sandbox and an LLM client.

It is the same pair a local evaluation uses (`agentkit.sandbox.Sandbox` and `agentkit.llm.LLMClient`),
moved into a Ray actor process: agent code runs in the actor's sandbox workers with a scrubbed
environment and no network, and its model calls come back to the actor's client, which holds the keys
(from the actor's environment) and reserves through the cluster's budget. The actor keeps nothing:
it returns each example's result to the driver, which alone writes it down.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from agentkit.errors import AgentkitError, BudgetExceeded, ProviderAuthError

if TYPE_CHECKING:
    from agentkit.llm import CallRecord, ModelPause


class EvalActor:
    """Runs examples of agents on this node (a Ray actor; its methods run on the actor's event loop)."""

    def __init__(
        self,
        *,
        owner: str,
        sandbox: Any,
        trusted: bool,
        cache: bool,
        budget: Any,
        ledger: Any,
        cache_service: Any,
    ) -> None:
        self._owner = owner
        self._sandbox_config = sandbox
        self._trusted = trusted
        self._cache = cache
        self._budget = budget
        self._ledger = ledger
        self._cache_service = cache_service
        self._client: Any = None
        self._runner: Any = None
        self._starting: asyncio.Lock | None = None
        self._models: set[str] = set()
        self._calls: list[CallRecord] = []
        self._pauses: list[ModelPause] = []

    async def _ready(self) -> None:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._runner is not None:
                return
            from agentkit.distributed._budget import RayBudgetGate
            from agentkit.distributed._cache import RemoteReplyStore
            from agentkit.llm import LLMClient
            from agentkit.sandbox import Sandbox, TrustedRunner

            self._client = LLMClient(
                cache=self._cache,
                budget=self._budget,
                budget_gate=RayBudgetGate(self._ledger, self._owner) if self._ledger is not None else None,
                reply_store=RemoteReplyStore(self._cache_service)
                if self._cache_service is not None
                else None,
                listeners=[self._heard],
            )
            self._client.add_pause_listener(self._pauses.append)
            runner = TrustedRunner(self._sandbox_config) if self._trusted else Sandbox(self._sandbox_config)
            await runner.__aenter__()
            self._runner = runner

    def _heard(self, call: CallRecord) -> None:
        # Sent back with the next result, so the driver can book every call (a search books each call's
        # usage in its archive). Errors travel as plain agentkit errors: only their kind and text matter.
        error = call.error
        if error is not None:
            kind = BudgetExceeded if isinstance(error, BudgetExceeded) else AgentkitError
            error = kind(f"{type(error).__name__}: {error}")
        self._calls.append(dataclasses.replace(call, error=error))

    async def pauses(self) -> list[ModelPause]:
        """The pauses and resumptions of models on this actor since the last ask (the driver polls them
        while examples run: results come back only once a pause is over)."""
        got = list(self._pauses)
        self._pauses.clear()  # the same list: the client's listener appends to it
        return got

    async def isolation_level(self) -> str:
        """Start the sandbox (if not yet) and say how isolated agent code is here."""
        await self._ready()
        return str(self._runner.isolation_level)

    async def evaluate(
        self, code: str, example: Any, task: Any, model: Any, trace_chars: int
    ) -> tuple[Any, ...]:
        """Run one example and return ``("ok", ExampleResult, calls)`` (`calls`: the `CallRecord` of every
        model call this actor settled since its last answer, this example's and others'), or ``("auth",
        message, model, status, key_variable)`` when the provider refused the credentials (the driver
        raises it)."""
        from agentkit.evaluate import evaluate_one

        await self._ready()
        if model.model not in self._models:
            from agentkit.llm import _litellm
            from agentkit.llm._endpoints import uses_litellm

            if uses_litellm(model):  # the import's seconds are not the first example's time
                await _litellm.ensure_litellm()
            self._models.add(model.model)
        try:
            result = await evaluate_one(
                code,
                example,
                task,
                client=self._client,
                model=model,
                runner=self._runner,
                trace_chars=trace_chars,
            )
        except ProviderAuthError as exc:
            return ("auth", str(exc), exc.model, exc.status, exc.key_variable)
        calls, self._calls = self._calls, []
        return ("ok", result, calls)

    async def stop(self) -> None:
        """Stop the sandbox workers and close the client."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.__aexit__(None, None, None)
        if self._client is not None:
            await self._client.aclose()
