"""Retry policy: exponential backoff with jitter, a provider's Retry-After, a bound on total time.

A call is retried (on the errors `classify_error` calls retryable: 408, 409, 425, 429, every 5xx,
timeouts, dropped connections) until it succeeds or `ModelConfig.retry_for_s` (default 300 s) has
passed since its first attempt began; `max_attempts`, when set, caps the count too. Between attempts
it waits what the provider's Retry-After says, else the backoff (base 0.5 s doubling, equal jitter,
at most `retry_max_wait_s`, 30 s), in either case at most what is left of the time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from agentkit.errors import ProviderAuthError, ProviderError
from agentkit.llm._config import ModelConfig
from agentkit.llm._keys import key_variable
from agentkit.llm._litellm import classify_error

T = TypeVar("T")

RetryListener = Callable[[str], None]
"""Called with a one-line reason each time an attempt failed and another one will follow."""

log = logging.getLogger("agentkit.llm")


def backoff_s(attempt: int, base_s: float) -> float:
    """The wait after failed attempt `attempt` (1-based), before any cap: equal jitter."""
    full = base_s * 2 ** (attempt - 1)
    return full / 2 + random.uniform(0, full / 2)


class _Policy:
    """When to try again and how long to wait first, for one call."""

    def __init__(self, config: ModelConfig, on_retry: RetryListener | None, tally: AttemptCounter) -> None:
        self.config = config
        self.on_retry = on_retry
        self.tally = tally
        self.started = time.monotonic()

    def remaining(self) -> float:
        # Time held by an open circuit breaker is no attempt: it does not use up the retry time, up to
        # as long again as that time (a call whose own request keeps failing, even as the breaker's
        # probe, must still give up in the end, not hold every other call at the longest pause).
        held = min(self.tally.held_s, self.config.retry_for_s)
        return max(self.config.retry_for_s - ((time.monotonic() - self.started) - held), 0.0)

    def pause_after(self, attempt: int, exc: Exception) -> float | None:
        """The wait before another attempt after failed attempt `attempt` (1-based); None: give up."""
        info = classify_error(exc)
        if not info.retryable:
            return None
        if self.config.max_attempts is not None and attempt >= self.config.max_attempts:
            return None
        left = self.remaining()
        if left <= 0.0:
            return None
        if info.retry_after is None:
            planned = min(backoff_s(attempt, self.config.retry_base_s), self.config.retry_max_wait_s)
        else:
            planned = info.retry_after
        pause = min(planned, left)
        log.info(
            "%s: attempt %d failed (%s); retrying in %.2fs", self.config.model, attempt, info.message, pause
        )
        if self.on_retry is not None:
            self.on_retry(info.message)
        return pause


AUTH_STATUSES = frozenset({401, 403})
"""Statuses by which a provider refuses the credentials: final, and a reason to stop the command."""


def auth_error(config: ModelConfig, status: int | None, detail: str) -> ProviderAuthError:
    """The error (and its one-line message) for credentials `config`'s provider refused."""
    variable = key_variable(config)
    where = f"check {variable}" if variable else "check the key this model is given"
    return ProviderAuthError(
        f"{config.model}: the provider refused the credentials (HTTP {status}: {detail}); {where} and run "
        f"again. Nothing was scored.",
        model=config.model,
        status=status,
        key_variable=variable,
    )


class AttemptCounter:
    """Requests sent so far for one call (readable even when the call is cancelled), and the seconds
    its attempts were held by the model's circuit breaker before being sent."""

    def __init__(self) -> None:
        self.value = 0
        self.held_s = 0.0


class Gate(Protocol):
    """What stands between an attempt and the provider (the client's circuit breakers)."""

    async def enter(self) -> float:
        """Wait for leave to send the attempt; returns the seconds waited."""
        ...

    def leave(self, exc: BaseException | None) -> None:
        """The attempt ended (with `exc`; None when it succeeded)."""
        ...


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    config: ModelConfig,
    counter: AttemptCounter | None = None,
    on_retry: RetryListener | None = None,
    gate: Gate | None = None,
) -> T:
    """Run `attempt` until it succeeds or the policy gives up; `counter` counts the attempts and
    `on_retry` hears why each failed attempt that is retried failed. Each attempt first waits for
    leave from `gate`: that wait is not an attempt (not counted, nothing sent) and does not use up
    `retry_for_s` (up to that long again: a call that keeps failing still gives up).

    Raises ProviderAuthError at once when the provider refuses the credentials (401, 403), else
    ProviderError (with `status` and `attempts`) for a failure that will not change or when retries
    run out. Errors that are not the provider's (cancellation, our own bugs) pass through.
    """
    tally = counter if counter is not None else AttemptCounter()
    first = tally.value

    async def counted() -> T:
        if gate is not None:
            tally.held_s += await gate.enter()
        tally.value += 1
        try:
            result = await attempt()
        except BaseException as exc:
            if gate is not None:
                gate.leave(exc)
            raise
        if gate is not None:
            gate.leave(None)
        return result

    policy = _Policy(config, on_retry, tally)
    try:
        # A plain loop, not a retry library's: this runs once per model call, and its bookkeeping
        # was a fifth of the host's CPU per call at a few hundred calls a second.
        number = 0
        while True:
            number += 1
            try:
                return await counted()
            except Exception as exc:
                pause = policy.pause_after(number, exc)
                if pause is None:
                    raise
            await asyncio.sleep(pause)
    except Exception as exc:
        attempts = tally.value - first
        info = classify_error(exc)
        if not info.provider:
            raise
        if info.status in AUTH_STATUSES:
            raise auth_error(config, info.status, info.message) from exc
        verdict = "gave up" if info.retryable else "not retried"
        raise ProviderError(
            f"{config.model}: {info.message} ({verdict} after {attempts} attempt{'s' * (attempts != 1)})",
            status=info.status,
            attempts=attempts,
        ) from exc
