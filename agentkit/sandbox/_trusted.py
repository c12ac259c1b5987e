"""TrustedRunner: run reviewed agent code in this process, with the same interface as the Sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from agentkit.records import AgentFailure

from ._classify import describe
from ._config import AgentRun, LLMHandler, SandboxConfig, llm_error_reply


class _LoopBridge:
    """The runtime's blocking `chat()` for a worker thread, answered by `llm` on the event loop."""

    def __init__(self, llm: LLMHandler, loop: asyncio.AbstractEventLoop) -> None:
        self._llm = llm
        self._loop = loop

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        future = asyncio.run_coroutine_threadsafe(self._call(request), self._loop)
        return future.result()

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._llm(request)
        except Exception as exc:
            return llm_error_reply(exc)
        if not isinstance(response, dict):
            return {"error": f"LLM handler returned {type(response).__name__}", "error_kind": "llm"}
        return response


class TrustedRunner:
    """Runs agent code in threads of this process: no isolation and no limits but the wall time.

    Only for code a person has reviewed (`load_agent(..., trusted=True)`): the code sees everything
    this process sees, including API keys. On a wall-time overrun the example is reported as timed
    out, but its thread cannot be stopped and runs on in the background.
    """

    isolation_level = "trusted"
    isolation_notes = "agent code runs inside this process with no isolation at all"

    def __init__(
        self, config: SandboxConfig | None = None, *, run_agent: Callable[..., str] | None = None
    ) -> None:
        """`run_agent` replaces agentkit.runtime.run_agent (for tests and embedding)."""
        self.config = config or SandboxConfig()
        self._run_agent = run_agent
        self._slots = asyncio.Semaphore(self.config.max_examples)

    async def __aenter__(self) -> TrustedRunner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to release; present for symmetry with Sandbox."""

    async def run(self, code: str, question: str, *, answer_format: str, llm: LLMHandler) -> AgentRun:
        """Run agent `code` on `question` in a thread; never raises for agent failures."""
        run_agent = self._run_agent
        if run_agent is None:
            from agentkit.runtime import run_agent as runtime_run_agent

            run_agent = runtime_run_agent
        loop = asyncio.get_running_loop()
        backend = _LoopBridge(llm, loop)
        async with self._slots:
            started = time.perf_counter()
            outcome: asyncio.Future[str] = loop.create_future()

            def settle(value: str | None, exc: BaseException | None) -> None:
                if outcome.done():
                    return
                if exc is not None:
                    outcome.set_exception(exc)
                else:
                    outcome.set_result(value or "")

            def call() -> None:
                # Our own thread, not the loop's default executor: agent threads block on model calls
                # whose plumbing (DNS lookups, for one) may itself need that executor.
                try:
                    value: str | None = run_agent(
                        code, question, backend=backend, answer_format=answer_format
                    )
                    error: BaseException | None = None
                except BaseException as exc:
                    value, error = None, exc
                with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                    loop.call_soon_threadsafe(settle, value, error)

            threading.Thread(target=call, name="agentkit-trusted-agent", daemon=True).start()
            try:
                async with asyncio.timeout(self.config.wall_time_s):
                    answer = await outcome
            except TimeoutError:
                failure = AgentFailure(
                    kind="timeout", message=f"wall time limit of {self.config.wall_time_s:g} s exceeded"
                )
                return AgentRun(answer=None, error=failure, duration_s=time.perf_counter() - started)
            except Exception as exc:
                failure = AgentFailure.model_validate(describe(exc))
                return AgentRun(answer=None, error=failure, duration_s=time.perf_counter() - started)
        text = answer if isinstance(answer, str) else str(answer)
        return AgentRun(answer=text, error=None, duration_s=time.perf_counter() - started)
