"""One evaluation session: the shared LLM client, the agent model and the runner that executes code.

The CLI, `load_agent` and the search all open one of these, so caching, budgets, concurrency limits
and the sandbox are set up the same way everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from agentkit.evaluate._runner import AgentRunner

if TYPE_CHECKING:
    from agentkit.llm import Budget, LLMClient, ModelConfig

log = logging.getLogger("agentkit")

Isolation = Literal["auto", "bwrap", "process", "trusted"]


@dataclass
class Session:
    """The shared parts of an evaluation. Use as ``async with Session.open(...) as s:``."""

    client: LLMClient
    model: ModelConfig
    runner: AgentRunner
    isolation_level: str
    _closers: list[object] = field(default_factory=list)

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
    ) -> _SessionOpener:
        """Prepare a session; entering it starts the sandbox workers."""
        return _SessionOpener(
            model=model,
            isolation=isolation,
            workers=workers,
            cache=cache,
            cache_dir=cache_dir,
            budget=budget,
            client=client,
            wall_time_s=wall_time_s,
        )

    async def aclose(self) -> None:
        """Stop the sandbox workers and close the client (when the session created it)."""
        for closer in reversed(self._closers):
            await closer.aclose() if hasattr(closer, "aclose") else None  # type: ignore[func-returns-value]


@dataclass
class _SessionOpener:
    model: str | ModelConfig | None
    isolation: Isolation
    workers: int
    cache: bool
    cache_dir: Path | str | None
    budget: Budget | None
    client: LLMClient | None
    wall_time_s: float | None
    _session: Session | None = None

    async def __aenter__(self) -> Session:
        from agentkit.llm import LLMClient, ModelConfig, resolve_model
        from agentkit.sandbox import Sandbox, SandboxConfig, TrustedRunner

        model = self.model if isinstance(self.model, ModelConfig) else resolve_model(self.model)
        closers: list[object] = []
        client = self.client
        if client is None:
            client = LLMClient(cache=self.cache, cache_dir=self.cache_dir, budget=self.budget)
            closers.append(client)
        runner: AgentRunner
        if self.isolation == "trusted":
            runner, level = TrustedRunner(), "trusted (in-process, no isolation)"
        else:
            settings: dict[str, object] = {"isolation": self.isolation, "workers": self.workers}
            if self.wall_time_s is not None:
                settings["wall_time_s"] = self.wall_time_s
            sandbox = Sandbox(SandboxConfig(**settings))  # type: ignore[arg-type]
            await sandbox.__aenter__()
            closers.append(sandbox)
            runner, level = sandbox, sandbox.isolation_level
        self._session = Session(client=client, model=model, runner=runner, isolation_level=level)
        self._session._closers = closers
        return self._session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.aclose()
