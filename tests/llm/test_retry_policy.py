"""The retry policy for real providers: Retry-After in both forms, a bound on time rather than on a
small count, and fewer requests in flight while a provider answers 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from agentkit.llm import LLMClient, ModelConfig, ProviderError, _limiter
from agentkit.llm._limiter import SharedLimiter, limiter_for
from agentkit.testing import FakeOpenAIServer, Fault

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]


def test_defaults_bound_retries_by_minutes_not_a_count() -> None:
    model = ModelConfig(model="openai/x")
    assert model.max_attempts is None
    assert 120 <= model.retry_for_s <= 600
    assert model.retry_max_wait_s <= model.retry_for_s


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_in_seconds(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory, status: int
) -> None:
    server.inject(Fault.status(status, retry_after=0.5))
    started = time.perf_counter()
    reply = await uncached.complete(USER, fast_config(server, retry_base_s=0.001, retry_for_s=10))
    assert reply.text == "ok" and reply.attempts == 2
    assert time.perf_counter() - started >= 0.5


async def test_retry_after_as_an_http_date(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    # An HTTP date has whole seconds: "2 s from now" is between 1 and 2 s away when it is read.
    server.inject(Fault.status(429, retry_after=2.0, as_date=True))
    started = time.perf_counter()
    reply = await uncached.complete(USER, fast_config(server, retry_base_s=0.001, retry_for_s=10))
    assert reply.text == "ok" and reply.attempts == 2
    assert 0.9 <= time.perf_counter() - started < 5


async def test_many_failures_in_a_row_are_outlasted(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    # Five faults in a row used to exhaust the retries; time, not a count, bounds them now.
    faults = [Fault.status(429), Fault.status(500), Fault.disconnect(), Fault.status(503)] * 3
    server.inject(*faults)
    # The retry policy alone: the circuit breaker would hold this call after five failures (test_breaker.py).
    reply = await uncached.complete(
        USER,
        fast_config(server, retry_base_s=0.005, retry_max_wait_s=0.05, retry_for_s=20, breaker_failures=None),
    )
    assert reply.text == "ok"
    assert reply.attempts == len(faults) + 1


async def test_hangs_then_success(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    server.inject(Fault.hang(5), Fault.hang(5), Fault.status(500))
    reply = await uncached.complete(
        USER, fast_config(server, timeout_s=0.2, retry_base_s=0.01, retry_for_s=10)
    )
    assert reply.text == "ok" and reply.attempts == 4


async def test_time_bound_gives_up_with_a_provider_error(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    server.set_down(Fault.status(503))
    started = time.perf_counter()
    with pytest.raises(ProviderError) as info:
        # Without the breaker, which would hold the call (not failed) for as long as the server is down.
        await uncached.complete(
            USER, fast_config(server, retry_base_s=0.05, retry_for_s=1.0, breaker_failures=None)
        )
    elapsed = time.perf_counter() - started
    assert info.value.status == 503 and info.value.attempts > 3
    assert 0.9 <= elapsed < 8.0  # stopped at its 1 s retry time (no attempt cap: it would go on)


async def test_a_short_outage_is_waited_out(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    server.set_down(Fault.disconnect())
    loop = asyncio.get_running_loop()
    loop.call_later(1.0, server.set_up)
    reply = await uncached.complete(USER, fast_config(server, retry_base_s=0.05, retry_max_wait_s=0.3))
    assert reply.text == "ok" and reply.attempts > 2


def test_limiter_halves_on_429_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(_limiter.time, "monotonic", lambda: now[0])
    limiter = SharedLimiter(16)
    limiter.rate_limited()
    assert limiter.limit == 8
    limiter.rate_limited()  # the same burst of refusals: no second cut
    assert limiter.limit == 8
    now[0] += _limiter.CUT_INTERVAL_S
    limiter.rate_limited()
    assert limiter.limit == 4
    for _ in range(4):
        limiter.succeeded()
    assert limiter.limit == 5  # one more for every "limit" successes
    now[0] += _limiter.RESTORE_AFTER_S
    assert limiter.limit == 16
    for _ in range(10):
        limiter.rate_limited()
        now[0] += _limiter.CUT_INTERVAL_S
    assert limiter.limit == 1  # never below one


async def test_limiter_lets_waiters_in_as_the_limit_grows() -> None:
    limiter = SharedLimiter(4)
    limiter.rate_limited()  # limit 2
    for _ in range(2):
        await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    limiter.succeeded()  # 2 -> 2.5: not yet 3
    await asyncio.sleep(0.01)
    assert not waiter.done()
    limiter.succeeded()
    await asyncio.wait_for(waiter, 1.0)
    assert limiter.in_use == 3
    for _ in range(3):
        limiter.release()
    assert limiter.in_use == 0


async def test_429s_lower_the_requests_in_flight(fast_config: ConfigFactory) -> None:
    with FakeOpenAIServer(latency_s=0.2) as server:
        model = fast_config(server, max_concurrency=8, timeout_s=5, retry_base_s=0.01, retry_for_s=10)
        client = LLMClient(cache=False)
        await client.complete(USER, model)  # warm: imports and connections
        server.reset()
        server.inject(Fault.status(429))
        await client.complete(USER, model, sample_index=1)
        limiter = limiter_for(model.model, model.api_base, model.max_concurrency)
        assert limiter.limit == 4
        server.reset()
        replies = await asyncio.gather(*(client.complete(USER, model, sample_index=i) for i in range(12)))
        assert len(replies) == 12
        assert 4 <= server.max_in_flight <= 5  # 8 before the 429; it grows back by one per 4 replies
