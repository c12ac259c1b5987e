"""Settings and results of the sandbox."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentkit.errors import BudgetExceeded, LocalModelUnavailable, ProviderAuthError, ProviderError
from agentkit.records import AgentFailure

LLMHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Host side of a model call made by agent code: runtime request dict -> runtime response dict."""


def default_workers() -> int:
    """The number of CPU cores this process may use (the default number of sandbox workers)."""
    try:
        return max(1, min(256, len(os.sched_getaffinity(0))))
    except (AttributeError, OSError):
        return max(1, min(256, os.cpu_count() or 1))


def llm_error_reply(exc: BaseException) -> dict[str, str]:
    """The reply to a model call of agent code that the host could not answer because of `exc`.

    Its `error_kind` travels with the `LLMCallError` the runtime raises in agent code, and becomes the
    example's failure kind if the agent lets that error out: "budget" when the run's budget refused the
    call (`BudgetExceeded`); "provider" when the provider or the way to it failed (a `ProviderError`
    that is `infrastructure`: authentication, quota, rate limits or server errors after retries,
    transport failures, timeouts; or the embedded model could not start), which leaves the example
    unscored (a `ProviderAuthError` too: the host then stops the whole evaluation, whatever agent code
    does with the error); else "llm" (the provider refused the request as the agent built it).
    """
    if isinstance(exc, BudgetExceeded):
        kind = "budget"
    elif isinstance(exc, (LocalModelUnavailable, ProviderAuthError)) or (
        isinstance(exc, ProviderError) and exc.infrastructure
    ):
        kind = "provider"
    else:
        kind = "llm"
    return {"error": f"{type(exc).__name__}: {exc}", "error_kind": kind}


class SandboxConfig(BaseModel):
    """How agent code is confined and limited, per example."""

    isolation: Literal["auto", "bwrap", "process"] = "auto"
    """"auto" picks the strongest level that works here; "bwrap" insists on bubblewrap (error if it
    does not work); "process" runs workers as plain processes (with seccomp where available)."""
    workers: int = Field(default_factory=lambda: default_workers(), ge=1, le=256)
    """Warm worker processes at most (default: the number of CPU cores). Each supervises many examples
    at once, each in its own child; they start as examples arrive, and the first example runs as soon
    as the first worker is up. Where the kernel cannot keep the children of one worker apart (no
    Landlock or no seccomp), a worker runs one example at a time and up to `max_examples` start."""
    max_examples: int = Field(default=64, ge=1, le=4096)
    """Examples run at the same time, across all workers."""
    wall_time_s: float = Field(default=120.0, gt=0)
    """Wall-clock limit per example, model calls included."""
    cpu_time_s: float = Field(default=60.0, gt=0)
    """CPU-time limit per example (all threads of the agent together)."""
    memory_mb: int = Field(default=2048, ge=64)
    """Address-space limit per example, in MiB."""
    max_output_bytes: int = Field(default=1_000_000, ge=1024)
    """Cap on captured stdout+stderr and on the answer; past it the example fails with output_limit."""
    max_file_bytes: int = Field(default=10_000_000, ge=0)
    """Largest file agent code may write (in its private /tmp)."""
    max_llm_calls: int = Field(default=200, ge=0)
    """Model calls one example may make; past it each further call fails (an `llm` error in agent code).
    Enforced outside the agent's process, so agent code cannot raise it."""
    max_request_chars: int = Field(default=400_000, ge=1000)
    """Largest model request (characters of all messages and field names) one call may send."""


class AgentRun(BaseModel):
    """The outcome of running agent code on one question."""

    answer: str | None
    """The agent's answer as text; None when it failed."""
    error: AgentFailure | None = None
    """Why there is no answer, when there is none."""
    duration_s: float = 0.0
    """Wall time from submitting the example to getting the outcome (waiting for a worker excluded)."""
    stdout: str = ""
    """What the agent printed (stdout and stderr), cut at max_output_bytes."""
