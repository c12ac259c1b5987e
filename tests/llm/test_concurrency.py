"""The per-model limit on requests in flight, shared by clients, tasks, threads and event loops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from agentkit.llm import LLMClient, ModelConfig
from agentkit.llm._limiter import SharedLimiter, limiter_for
from agentkit.testing import FakeOpenAIServer

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]


@pytest.fixture
def slow_server():
    with FakeOpenAIServer(latency_s=0.2) as server:
        yield server


async def _warm(server: FakeOpenAIServer, fast_config: ConfigFactory) -> None:
    # The first call imports litellm (seconds); keep it out of the timed part.
    await LLMClient(cache=False).complete(USER, fast_config(server, timeout_s=5))
    server.reset()


async def test_limit_4_with_20_requests(slow_server: FakeOpenAIServer, fast_config: ConfigFactory) -> None:
    await _warm(slow_server, fast_config)
    client = LLMClient(cache=False)
    model = fast_config(slow_server, max_concurrency=4, timeout_s=5)
    started = time.perf_counter()
    replies = await asyncio.gather(*(client.complete(USER, model, sample_index=i) for i in range(20)))
    elapsed = time.perf_counter() - started
    assert len(replies) == 20
    assert slow_server.max_in_flight == 4
    # 5 waves of 200 ms at least; no upper bound, which only a loaded machine would test
    assert elapsed >= 0.9, elapsed


async def test_limit_is_shared_by_clients(slow_server: FakeOpenAIServer, fast_config: ConfigFactory) -> None:
    await _warm(slow_server, fast_config)
    model = fast_config(slow_server, max_concurrency=3, timeout_s=5)
    clients = [LLMClient(cache=False) for _ in range(3)]
    await asyncio.gather(*(c.complete(USER, model) for c in clients for _ in range(4)))
    assert slow_server.max_in_flight == 3


def test_limit_is_shared_across_event_loops(
    slow_server: FakeOpenAIServer, fast_config: ConfigFactory
) -> None:
    asyncio.run(_warm(slow_server, fast_config))
    model = fast_config(slow_server, max_concurrency=2, timeout_s=5)
    client = LLMClient(cache=False)
    errors: list[BaseException] = []

    def worker() -> None:
        async def many() -> None:
            await asyncio.gather(*(client.complete(USER, model) for _ in range(4)))

        try:
            asyncio.run(many())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(slow_server.requests) == 12
    assert slow_server.max_in_flight == 2


async def test_limiter_survives_cancelled_waiters() -> None:
    limiter = SharedLimiter(1)
    await limiter.acquire()
    waiters = [asyncio.create_task(limiter.acquire()) for _ in range(3)]
    await asyncio.sleep(0.01)
    waiters[0].cancel()
    limiter.release()  # hands the slot to waiter 0, which is cancelled, so it passes it on
    await asyncio.sleep(0.01)
    assert waiters[1].done() and not waiters[2].done()
    limiter.release()
    await asyncio.sleep(0.01)
    assert waiters[2].done()
    limiter.release()
    assert limiter.in_use == 0


def test_limiter_registry_is_per_endpoint() -> None:
    a = limiter_for("openai/x", "http://a", 2)
    assert limiter_for("openai/x", "http://a", 2) is a
    assert limiter_for("openai/x", "http://b", 2) is not a
    assert limiter_for("openai/y", "http://a", 2) is not a
