"""`load_agent`: a discovered agent as a plain callable for apps.

The agent's code runs in the sandbox by default; its model calls go through one `LLMClient` owned by a
private event loop thread, so the callable works from ordinary synchronous code.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import sys
import threading
import weakref
from concurrent.futures import CancelledError, Future
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agentkit.errors import ConfigError
from agentkit.evaluate._bridge import ExampleCalls
from agentkit.evaluate._session import Session, SessionOpener
from agentkit.records import AgentFailure, LLMCallTrace

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from agentkit.llm import ModelConfig
    from agentkit.tasks import Task

DEFAULT_ANSWER_FORMAT = "Give only the final answer, as briefly as possible, with no explanation."


class AgentUsage(BaseModel):
    """What one call of a loaded agent consumed."""

    llm_calls: int
    """Model calls made."""
    prompt_tokens: int
    """Prompt tokens billed (cache hits count 0)."""
    completion_tokens: int
    """Completion tokens billed."""
    cost_usd: float | None
    """Cost, None when the model has no known price."""


class AgentAnswer(BaseModel):
    """The result of asking a loaded agent one question."""

    answer: str | None
    """The agent's final answer; None when it failed (see `error`)."""
    error: AgentFailure | None = None
    """Why the agent failed, if it did. Kind "provider" when the provider failed one of its model calls,
    even if agent code caught the error: `answer` is then None, not one made without the reply."""
    usage: AgentUsage
    """Model usage of this call."""
    trace: list[LLMCallTrace] = Field(default_factory=list)
    """Every model call the agent made, in order."""


class LoadedAgent:
    """A callable agent. ``agent("question").answer``; close it (or use ``with``) when done.

    An agent still open when the interpreter exits is closed by an ``atexit`` hook, so a script that
    forgets `close` still exits promptly and leaves no worker processes behind.
    """

    def __init__(
        self, code: str, name: str, opener: SessionOpener, answer_format: str, *, trace_chars: int = 0
    ) -> None:
        self.code = code
        self.name = name
        self.answer_format = answer_format
        self._trace_chars = trace_chars
        self._opener = opener
        self._closed = False
        self._closing = False
        self._asking: set[asyncio.Task[Any]] = set()  # questions being answered, on the private loop
        self._close_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"agentkit-{name}", daemon=True)
        self._thread.start()
        try:
            self._session: Session = self._submit(opener.__aenter__()).result()
        except BaseException:
            self._stop_loop()
            raise
        _OPEN.add(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<LoadedAgent {self.name!r} ({state}, answer format {self.answer_format!r})>"

    @property
    def isolation_level(self) -> str:
        """How the agent's code is isolated from this process."""
        return self._session.isolation_level

    @property
    def closed(self) -> bool:
        """True once `close` was called; the agent can no longer be asked."""
        return self._closed

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        if self._closed:
            coro.close()
            # A stopped loop would never run the call: waiting for it would hang forever.
            raise ConfigError(f"agent {self.name!r} is closed; load it again to ask it more")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def acall(self, question: str) -> AgentAnswer:
        """Ask the agent from async code running in *any* event loop."""
        future = self._submit(self._ask(question))
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if future.cancelled() and self._closing:
                raise self._closed_error() from None
            raise

    def __call__(self, question: str) -> AgentAnswer:
        """Ask the agent one question and wait for its answer."""
        future = self._submit(self._ask(question))
        try:
            return future.result()
        except CancelledError:
            if self._closing:
                raise self._closed_error() from None
            raise

    def _closed_error(self) -> ConfigError:
        return ConfigError(f"agent {self.name!r} was closed while it answered; load it again to ask it more")

    async def _ask(self, question: str) -> AgentAnswer:
        task = asyncio.current_task()
        assert task is not None
        self._asking.add(task)
        try:
            return await self._answer(question)
        finally:
            self._asking.discard(task)

    async def _stop_asking(self) -> None:
        """Cancel the questions still being answered (their callers hear that the agent was closed)."""
        asking = list(self._asking)
        for task in asking:
            task.cancel()
        await asyncio.gather(*asking, return_exceptions=True)

    async def _answer(self, question: str) -> AgentAnswer:
        s = self._session
        calls = ExampleCalls(s.client, s.model, trace_chars=self._trace_chars)
        run = await s.runner.run(self.code, question, answer_format=self.answer_format, llm=calls)
        # as in an evaluation: a call the provider failed makes the answer a failure of kind "provider",
        # even when agent code caught it and answered without the reply
        answer, error = calls.settle(run.answer, run.error)
        return AgentAnswer(
            answer=answer,
            error=error,
            usage=AgentUsage(
                llm_calls=calls.calls,
                prompt_tokens=calls.prompt_tokens,
                completion_tokens=calls.completion_tokens,
                cost_usd=calls.cost_usd,
            ),
            trace=calls.trace,
        )

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the sandbox workers and the private event loop. Safe to call more than once."""
        with self._close_lock:
            if self._closed:
                return
            _OPEN.discard(self)
            if threading.current_thread() is self._thread:
                # Dropped from inside its own loop (a callback held the last reference): it cannot
                # wait for itself, so it only stops the loop.
                self._closed = True
                self._loop.call_soon(self._loop.stop)
                return
            self._closing = True
            try:
                # During interpreter finalisation the loop thread can no longer run: do not wait on it.
                if not sys.is_finalizing() and self._loop.is_running():
                    # A question still being answered (asked from another thread) must not wait on a
                    # loop that is about to stop: it is cancelled and its caller told why.
                    asyncio.run_coroutine_threadsafe(self._stop_asking(), self._loop).result(
                        timeout=timeout_s
                    )
                    future = asyncio.run_coroutine_threadsafe(
                        self._opener.__aexit__(None, None, None), self._loop
                    )
                    future.result(timeout=timeout_s)
            finally:
                self._closed = True
                self._stop_loop()

    def _stop_loop(self) -> None:
        if sys.is_finalizing():
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> LoadedAgent:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; explicit close() is the contract
        with contextlib.suppress(Exception):
            self.close(timeout_s=5.0)


_OPEN: weakref.WeakSet[LoadedAgent] = weakref.WeakSet()
"""Agents loaded and not yet closed, closed at exit while their loop threads can still run."""


@atexit.register
def _close_open_agents() -> None:
    for agent in list(_OPEN):
        with contextlib.suppress(Exception):
            agent.close(timeout_s=10.0)


def load_agent(
    path: str | Path,
    *,
    model: str | ModelConfig | None = None,
    trusted: bool = False,
    task: str | Task | None = None,
    answer_format: str | None = None,
    cache: bool = True,
    workers: int = 4,
    concurrency: int | None = None,
    max_inflight: int | None = None,
    trace_chars: int = 0,
) -> LoadedAgent:
    """Load an agent file (a seed, a search result or an export) as a callable.

    The code runs in the sandbox unless ``trusted=True`` (in-process: only for code a person has
    reviewed). ``task`` borrows a task's answer format: a name for `agentkit.load_task` (a built-in task,
    ``jsonl:<path>``, a registered ``py/<name>``) or a `Task` object such as one from
    `agentkit.Task.from_records`; ``answer_format`` sets one directly.

    ``concurrency`` is how many questions the agent answers at once (from threads or ``acall``): it
    takes the place of `workers` and also sets the model's requests in flight (at least 16), as
    ``--concurrency`` does on the command line; ``max_inflight`` sets those requests on their own.
    ``trace_chars`` keeps that many characters of each call's prompt and reply in `AgentAnswer.trace`
    (0: the calls are listed with their usage, their text left out). The embedded ``local`` model's
    server is shared by the whole process and stops when it exits.

    Raises `AgentCodeError` for a file that cannot be an agent, `ConfigError` for a model whose key is
    not set or whose own endpoint refuses connections, `TaskError` for an unknown `task`. Asking raises
    `ProviderAuthError` when the provider refuses the key (whatever agent code made of it); other
    provider failures come back as an answer with an error of kind "provider".

    Example:
        >>> import agentkit
        >>> with agentkit.load_agent("cot", model="local") as agent:  # doctest: +SKIP
        ...     print(agent("What is 17 + 25?").answer)
        42
    """
    from agentkit.evaluate._agent_file import resolve_agent
    from agentkit.llm import ModelConfig, check_models, inflight_limit, resolve_model
    from agentkit.tasks import Task

    _check_types(
        model=(model, (str, ModelConfig, type(None))),
        task=(task, (str, Task, type(None))),
        answer_format=(answer_format, (str, type(None))),  # else every answer fails
    )
    for name, count in (
        ("workers", workers),
        ("concurrency", concurrency),
        ("max_inflight", max_inflight),
        ("trace_chars", trace_chars),
    ):
        if count is not None and (not isinstance(count, int) or count < (0 if name == "trace_chars" else 1)):
            raise ConfigError(
                f"{name} must be {'0 or more' if name == 'trace_chars' else 'at least 1'}, not {count!r}"
            )
    spec = resolve_agent(str(path))
    if answer_format is None:
        if isinstance(task, str):
            from agentkit.tasks import load_task

            answer_format = load_task(task).answer_format
        elif task is not None:
            answer_format = task.answer_format
        else:
            answer_format = DEFAULT_ANSWER_FORMAT
    config = model if isinstance(model, ModelConfig) else resolve_model(model)
    check_models([config])  # a key that is not set, a server not running: said now, not by the first call
    if concurrency is not None or max_inflight is not None:
        limit = inflight_limit(concurrency or 1, max_inflight)
        config = config.model_copy(update={"max_concurrency": limit})
        workers = concurrency or workers
    opener = Session.open(config, isolation="trusted" if trusted else "auto", workers=workers, cache=cache)
    return LoadedAgent(spec.code, spec.name, opener, answer_format, trace_chars=trace_chars)


def _check_types(**given: tuple[object, tuple[type, ...]]) -> None:
    """TypeError naming the argument, for values a caller could pass by mistake (a number for a model
    name): they would otherwise fail deep inside with an AttributeError."""
    for name, (value, kinds) in given.items():
        if not isinstance(value, kinds):
            named = [("a string" if k is str else f"a {k.__name__}") for k in kinds if k is not type(None)]
            raise TypeError(f"{name} must be {' or '.join(named)}, not {type(value).__name__}")
