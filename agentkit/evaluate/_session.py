"""One evaluation session: the shared LLM client, the agent model and the runner that executes code.

The CLI, `load_agent` and the search all open one of these, so caching, budgets, concurrency limits
and the sandbox are set up the same way everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, cast

from agentkit.errors import ConfigError
from agentkit.evaluate._executor import ExampleExecutor
from agentkit.evaluate._runner import AgentRunner, LLMHandler

if TYPE_CHECKING:
    from agentkit.llm import Budget, LLMClient, ModelConfig
    from agentkit.sandbox import AgentRun, Sandbox, SandboxConfig, TrustedRunner

Isolation = Literal["auto", "bwrap", "process", "trusted"]
ISOLATIONS: tuple[str, ...] = ("auto", "bwrap", "process", "trusted")


def check_isolation(value: str) -> Isolation:
    """`value` as an isolation choice, or a ConfigError that lists the valid ones."""
    if value not in ISOLATIONS:
        raise ConfigError(f"unknown isolation {value!r}; choose one of {', '.join(ISOLATIONS)}")
    return cast(Isolation, value)


@dataclass
class Session:
    """The shared parts of an evaluation. Use as ``async with Session.open(...) as s:``."""

    client: LLMClient
    model: ModelConfig
    runner: AgentRunner
    isolation_level: str
    executor: ExampleExecutor | None = None
    """Where examples run when not here (pass it to `evaluate_agent`); None: the session's runner."""

    @classmethod
    def open(
        cls,
        model: str | ModelConfig | None = None,
        *,
        isolation: Isolation = "auto",
        workers: int = 8,
        cache: bool = True,
        cache_dir: Path | str | None = None,
        budget: Budget | None = None,
        client: LLMClient | None = None,
        wall_time_s: float | None = None,
        sandbox: SandboxConfig | None = None,
        executor: ExampleExecutor | None = None,
        runner: Sandbox | TrustedRunner | None = None,
    ) -> SessionOpener:
        """Prepare a session; entering it starts the sandbox workers, leaving it stops them.

        `workers` is how many examples run at once (the sandbox's ``max_examples``; its worker
        processes stay at about one per core, each running many examples). `sandbox` gives every
        sandbox setting at once (worker processes, examples at once and the limits per example; a
        search passes its ``sandbox`` section); then `workers` and `wall_time_s` are not used. `isolation`
        always chooses the runner: ``"trusted"`` runs agent code in-process. With an `executor` (a
        cluster, already started) no runner starts here: examples run on the executor, and the client
        made here reserves through the executor's shared budget and reads its shared cache. A `runner`
        (a sandbox the caller started early, say) is used as it is, and left for the caller to stop;
        `isolation`, `workers`, `wall_time_s` and `sandbox` then do not apply.

        Example:
            >>> async with Session.open("local", workers=4) as s:  # doctest: +SKIP
            ...     result = await evaluate_agent(code, examples, task,
            ...                                   client=s.client, model=s.model, runner=s.runner)
        """
        return SessionOpener(
            model=model,
            isolation=check_isolation(isolation),
            workers=workers,
            cache=cache,
            cache_dir=cache_dir,
            budget=budget,
            client=client,
            wall_time_s=wall_time_s,
            sandbox=sandbox,
            executor=executor,
            runner=runner,
        )


@dataclass
class SessionOpener:
    """The async context manager returned by `Session.open`."""

    model: str | ModelConfig | None
    isolation: Isolation
    workers: int
    cache: bool
    cache_dir: Path | str | None
    budget: Budget | None
    client: LLMClient | None
    wall_time_s: float | None
    sandbox: SandboxConfig | None = None
    executor: ExampleExecutor | None = None
    runner: Sandbox | TrustedRunner | None = None
    _stack: contextlib.AsyncExitStack | None = None

    async def __aenter__(self) -> Session:
        from agentkit.llm import LLMClient, ModelConfig, prepare_models, resolve_model
        from agentkit.sandbox import Sandbox, SandboxConfig, TrustedRunner

        model = self.model if isinstance(self.model, ModelConfig) else resolve_model(self.model)
        prepare_models([model])
        budget = self.client.budget if self.client is not None else self.budget
        if budget is not None and budget.max_cost_usd is not None:
            # A dollar limit that cannot price the model would be no limit: refuse before any call.
            from agentkit.llm import check_budget

            await asyncio.to_thread(check_budget, budget, [model])
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            client = self.client
            if client is None:  # a client we create is ours to close; a given one is not
                shared = self.executor
                client = await stack.enter_async_context(
                    LLMClient(
                        cache=self.cache,
                        cache_dir=self.cache_dir,
                        budget=self.budget,
                        budget_gate=shared.budget_gate if shared is not None else None,
                        reply_store=shared.reply_store if shared is not None else None,
                    )
                )
            settings = self.sandbox or SandboxConfig(max_examples=self.workers)
            if self.sandbox is None and self.wall_time_s is not None:
                settings = settings.model_copy(update={"wall_time_s": self.wall_time_s})
            runner: Sandbox | TrustedRunner | _Elsewhere
            if self.executor is not None:
                runner = _Elsewhere(self.executor.isolation_level)
            elif self.runner is not None:
                runner = self.runner
                if isinstance(runner, Sandbox):
                    await runner.start()  # waits for a start under way; a no-op once started
            elif self.isolation == "trusted":
                runner = TrustedRunner(settings)
            else:
                runner = Sandbox(settings.model_copy(update={"isolation": self.isolation}))
            if runner is not self.runner:
                await stack.enter_async_context(runner)
            # The model library's import takes seconds: paid here, not by the first example's time limit
            # (an example that ran out of time inside it would be scored as the agent's timeout). Started
            # in the background before the runner, it overlapped with the runner's start.
            from agentkit.llm import _litellm
            from agentkit.llm._endpoints import uses_litellm

            if uses_litellm(model):
                await _litellm.ensure_litellm()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return Session(
            client=client,
            model=model,
            runner=runner,
            isolation_level=runner.isolation_level,
            executor=self.executor,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()


class _Elsewhere:
    """The runner of a session whose examples run on an executor: nothing runs here."""

    def __init__(self, isolation_level: str) -> None:
        self.isolation_level = isolation_level

    async def __aenter__(self) -> _Elsewhere:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def run(self, code: str, question: str, *, answer_format: str, llm: LLMHandler) -> AgentRun:
        """Refuses: this session's agent code runs on its executor (pass ``executor=`` along)."""
        raise ConfigError("this session runs agent code on its executor: pass executor=session.executor")
