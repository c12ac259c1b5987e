"""A circuit breaker per model endpoint: a sustained outage pauses the calls instead of burning them.

Retries alone keep every call hammering a provider that is down (each on its own backoff) until its
`ModelConfig.retry_for_s` runs out. The breaker watches the requests to one endpoint (model and
api_base, shared by the whole process like the concurrency limit): when at least
`ModelConfig.breaker_failures` of the last `breaker_window` finished requests failed for the provider's
reasons (timeouts, dropped connections, 5xx, 429 and the other retried statuses), it *opens*: no request
is sent for `breaker_pause_s`. Then one request goes through as a probe while the others keep waiting;
if it is answered the breaker closes and everyone continues, else it opens again for twice as long (at
most `breaker_max_pause_s`).

A call held by an open breaker waits: it is not failed and not retried (the wait is no attempt, and it
counts against neither `retry_for_s` nor the budget, which a held call has not yet reserved). Once the
endpoint has answered nothing for `ModelConfig.breaker_give_up_s` (every probe failed), calls stop
waiting: held and new calls fail at once with a `ProviderError` (the provider's failure: unscored, never
a 0), so an evaluation against a server that died ends in seconds, not after every remaining example's
time limit; probes go on, and calls wait again once one is answered. Each
client tells its pause listeners once per opening (`ModelPause`), so a progress display can say that
the model is not answering and for how long the calls pause, and again once it answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from agentkit.errors import ProviderError
from agentkit.llm._litellm import classify_error
from agentkit.records import clip

if TYPE_CHECKING:
    from agentkit.llm._config import ModelConfig

Clock = Callable[[], float]

_PROBE_POLL_S = 0.25
"""How often a held call looks again while the probe is out (its verdict may come any moment)."""
_LONGEST_SLEEP_S = 1.0
"""Held calls sleep at most this long at a time, so a closed breaker is noticed soon."""


@dataclass(frozen=True)
class ModelPause:
    """A change in whether a model is paused, as a client's pause listeners hear it."""

    model: str
    """The model's name as configured."""
    paused: bool
    """True: its calls are held (the breaker opened); False: it answered again (the breaker closed)."""
    pause_s: float = 0.0
    """How long the calls are held before the next probe (when `paused`)."""
    failed: int = 0
    """Failed requests among the recent ones that opened the breaker (0 after a failed probe)."""
    window: int = 0
    """How many recent requests were looked at."""
    last_error: str = ""
    """How the latest failed request failed (e.g. a refused connection, an HTTP status), "" if unknown."""

    def describe(self) -> str:
        """One line for a progress display."""
        if not self.paused:
            return f"model {self.model} answers again; calls continue"
        why = [f"{self.failed} of its last {self.window} requests failed"] if self.failed else []
        why += [f"last: {self.last_error}"] if self.last_error else []
        said = f" ({'; '.join(why)})" if why else ""
        return f"model {self.model} not answering{said}, pausing {self.pause_s:g}s"


PauseListener = Callable[[ModelPause], None]
"""Called when a model's calls pause or continue (see `LLMClient.add_pause_listener`)."""


class Permit:
    """Leave to send one request; `probe` when it is the one request that tests an opened breaker."""

    __slots__ = ("probe",)

    def __init__(self, probe: bool) -> None:
        self.probe = probe


class CircuitBreaker:
    """The breaker of one endpoint. Thread-safe; `clock` (monotonic seconds) can be injected for tests."""

    def __init__(
        self,
        *,
        failures: int = 5,
        window: int = 8,
        pause_s: float = 4.0,
        max_pause_s: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._outcomes: deque[bool] = deque(maxlen=max(1, window))  # True: the request failed
        self._failures = failures
        self._base_pause_s = pause_s
        self._max_pause_s = max_pause_s
        self._next_pause_s = pause_s
        self._state: Literal["closed", "open", "probing"] = "closed"
        self._until = 0.0
        self._last_pause_s = 0.0
        self._last_failed = 0
        self._last_error = ""
        self._probe_out = False
        self._down_since: float | None = None  # when the current outage began (its first opening)
        self.openings = 0
        """How many times the breaker opened so far (each reopening after a failed probe counts)."""

    def configure(self, *, failures: int, window: int, pause_s: float, max_pause_s: float) -> None:
        """Take the settings of the latest call (they normally do not change)."""
        with self._lock:
            if window != self._outcomes.maxlen:
                self._outcomes = deque(self._outcomes, maxlen=max(1, window))
            self._failures = failures
            self._base_pause_s = pause_s
            self._max_pause_s = max_pause_s
            self._next_pause_s = min(max(self._next_pause_s, pause_s), max_pause_s)

    @property
    def state(self) -> Literal["closed", "open", "probing"]:
        """``closed`` (requests flow), ``open`` (held until the pause ends) or ``probing`` (one request
        tests the endpoint; an open breaker whose pause is over reads ``probing`` too)."""
        with self._lock:
            if self._state == "open" and self._clock() >= self._until:
                return "probing"
            return self._state

    def pause(self) -> ModelPause:
        """What the latest opening looked like (for the listeners), `model` left empty."""
        with self._lock:
            return ModelPause(
                model="",
                paused=True,
                pause_s=self._last_pause_s,
                failed=self._last_failed,
                window=self._outcomes.maxlen or 0,
                last_error=self._last_error,
            )

    @property
    def last_error(self) -> str:
        """How the latest failed request failed ("" before any failed)."""
        with self._lock:
            return self._last_error

    def wait_s(self) -> float:
        """How long a new call should wait before asking again: 0 when it may ask now (`admit`)."""
        with self._lock:
            if self._state == "closed":
                return 0.0
            if self._state == "open":
                return max(0.0, self._until - self._clock())
            return _PROBE_POLL_S if self._probe_out else 0.0

    def admit(self) -> Permit | None:
        """Leave to send a request now, or None (then wait `wait_s` and ask again). The first request
        after a pause is the probe; until its verdict the others are held."""
        with self._lock:
            if self._state == "closed":
                return Permit(probe=False)
            if self._state == "open":
                if self._clock() < self._until:
                    return None
                self._state = "probing"
            if self._probe_out:
                return None
            self._probe_out = True
            return Permit(probe=True)

    def record(
        self, permit: Permit, failed: bool | None, error: str = ""
    ) -> Literal["opened", "closed"] | None:
        """The verdict on a request sent with `permit`: `failed` True (the provider's failure, `error`
        saying how), False (answered), None (no verdict: cancelled, or our own error). Returns what
        changed, if anything."""
        with self._lock:
            if failed:
                self._last_error = error
            if permit.probe:
                self._probe_out = False
                if failed is None:
                    return None
                if failed:
                    self._open(failed_now=0)
                    return "opened"
                self._state = "closed"
                self._outcomes.clear()
                self._next_pause_s = self._base_pause_s
                self._down_since = None
                return "closed"
            if failed is None or self._state != "closed":
                return None  # sent before the breaker opened: the opening already counted it
            self._outcomes.append(failed)
            count = sum(self._outcomes)
            if count >= self._failures:
                self._open(failed_now=count)
                return "opened"
            return None

    def down_for(self) -> float:
        """Seconds since the breaker first opened in the current outage (0 while it is closed)."""
        with self._lock:
            return 0.0 if self._down_since is None else self._clock() - self._down_since

    def _open(self, *, failed_now: int) -> None:
        """Hold requests for the next pause (lock held)."""
        if self._down_since is None:
            self._down_since = self._clock()
        self._state = "open"
        self._last_pause_s = self._next_pause_s
        self._last_failed = failed_now
        self._until = self._clock() + self._next_pause_s
        self._next_pause_s = min(self._next_pause_s * 2, self._max_pause_s)
        self._outcomes.clear()
        self.openings += 1


def provider_failed(exc: BaseException | None) -> bool | None:
    """The breaker's verdict on a request that ended with `exc`: True when the provider failed it (a
    failure retries are for), False when the provider answered (a final 4xx is still an answer), None
    when it says nothing about the provider (cancelled, our own error)."""
    if exc is None:
        return False
    info = classify_error(exc)
    if not info.provider:
        return None
    return info.retryable


_registry: dict[tuple[str, str | None], CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker_for(config: ModelConfig) -> CircuitBreaker:
    """The process-wide breaker of `config`'s endpoint (model and api_base), set to its settings."""
    key = (config.model, config.api_base)
    failures = config.breaker_failures or 1  # callers check for None (switched off) first
    with _registry_lock:
        breaker = _registry.get(key)
        if breaker is None:
            breaker = _registry[key] = CircuitBreaker(
                failures=failures,
                window=config.breaker_window,
                pause_s=config.breaker_pause_s,
                max_pause_s=config.breaker_max_pause_s,
            )
    breaker.configure(
        failures=failures,
        window=config.breaker_window,
        pause_s=config.breaker_pause_s,
        max_pause_s=config.breaker_max_pause_s,
    )
    return breaker


class Pauses:
    """One client's side of the breakers: holds its calls while a model is paused, keeps track of what
    its listeners were told, and tells them once per opening and once when the model answers again."""

    def __init__(self) -> None:
        self.listeners: list[PauseListener] = []
        self._told_open: dict[str, int] = {}  # model -> the opening its listeners last heard of
        self._told_closed: dict[str, int] = {}
        self._lock = threading.Lock()

    def _tell(self, event: ModelPause) -> None:
        for listener in tuple(self.listeners):
            listener(event)

    def _paused(self, config: ModelConfig, breaker: CircuitBreaker) -> None:
        with self._lock:
            opening = breaker.openings
            if self._told_open.get(config.model) == opening:
                return
            self._told_open[config.model] = opening
        seen = breaker.pause()
        self._tell(
            ModelPause(
                model=config.model,
                paused=True,
                pause_s=seen.pause_s,
                failed=seen.failed,
                window=seen.window,
                last_error=seen.last_error,
            )
        )

    def _continued(self, config: ModelConfig, breaker: CircuitBreaker) -> None:
        with self._lock:
            told = self._told_open.get(config.model)
            if told is None or self._told_closed.get(config.model) == told or breaker.state != "closed":
                return
            self._told_closed[config.model] = told
        self._tell(ModelPause(model=config.model, paused=False))

    async def _wait(
        self, config: ModelConfig, breaker: CircuitBreaker, on_hold: Callable[[str], None] | None
    ) -> None:
        give_up = config.breaker_give_up_s
        if give_up is not None and (down := breaker.down_for()) >= give_up:
            last = breaker.last_error
            raise ProviderError(
                f"{config.model}: not answering for {down:.0f}s"
                f"{f' (last: {last})' if last else ''}; calls no longer wait for it"
            )
        self._paused(config, breaker)
        if on_hold is not None:
            last = breaker.last_error
            on_hold(f"{config.model}: not answering{f' (last: {last})' if last else ''}, calls paused")
        await asyncio.sleep(min(max(breaker.wait_s(), 0.05), _LONGEST_SLEEP_S))

    async def hold(self, config: ModelConfig, on_hold: Callable[[str], None] | None = None) -> float:
        """Wait while `config`'s breaker holds new calls (the probe is left to `admit`); returns the
        seconds waited. `on_hold` hears that the call is held (the evaluator's sign of provider trouble)."""
        if config.breaker_failures is None:
            return 0.0
        breaker = breaker_for(config)
        started = time.monotonic()
        while breaker.wait_s() > 0:
            await self._wait(config, breaker, on_hold)
        if breaker.state == "closed":
            self._continued(config, breaker)
        return time.monotonic() - started

    async def admit(
        self, config: ModelConfig, on_hold: Callable[[str], None] | None = None
    ) -> tuple[CircuitBreaker | None, Permit | None, float]:
        """Wait for leave to send one request: (breaker, permit, seconds held); (None, None, 0) when
        the breaker is switched off for this model."""
        if config.breaker_failures is None:
            return None, None, 0.0
        breaker = breaker_for(config)
        started = time.monotonic()
        while (permit := breaker.admit()) is None:
            await self._wait(config, breaker, on_hold)
        return breaker, permit, time.monotonic() - started

    def done(
        self,
        config: ModelConfig,
        breaker: CircuitBreaker | None,
        permit: Permit | None,
        exc: BaseException | None,
    ) -> None:
        """The request sent with `permit` ended (with `exc`, None when answered)."""
        if breaker is None or permit is None:
            return
        failed = provider_failed(exc)
        error = clip(classify_error(exc).message, 200) if failed and exc is not None else ""
        change = breaker.record(permit, failed, error)
        if change == "opened":
            self._paused(config, breaker)
        elif change == "closed":
            self._continued(config, breaker)

    def gate(self, config: ModelConfig, on_hold: Callable[[str], None] | None = None) -> AttemptGate:
        """The gate each attempt of one call to `config` passes (`agentkit.llm._retry.Gate`)."""
        return AttemptGate(self, config, on_hold)


class AttemptGate:
    """The breaker between one call's attempts and the provider: `enter` waits for a permit, `leave`
    gives the verdict on the request it let through."""

    def __init__(self, pauses: Pauses, config: ModelConfig, on_hold: Callable[[str], None] | None) -> None:
        self._pauses = pauses
        self._config = config
        self._on_hold = on_hold
        self._breaker: CircuitBreaker | None = None
        self._permit: Permit | None = None

    async def enter(self) -> float:
        """Wait for leave to send; returns the seconds held."""
        self._breaker, self._permit, held = await self._pauses.admit(self._config, self._on_hold)
        return held

    def leave(self, exc: BaseException | None) -> None:
        """The request ended with `exc` (None: answered)."""
        breaker, permit = self._breaker, self._permit
        self._breaker = self._permit = None
        self._pauses.done(self._config, breaker, permit, exc)
