"""Retries against a real HTTP server: what is retried, how often, and how long it waits."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from agentkit.llm import LLMClient, LLMError, ModelConfig, ProviderAuthError, ProviderError
from agentkit.llm._litellm import parse_retry_after
from agentkit.llm._retry import backoff_s
from agentkit.testing import FakeOpenAIServer, Fault

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]


async def test_429_then_200_succeeds(
    server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient
) -> None:
    server.inject(Fault.status(429))
    reply = await uncached.complete(USER, fast)
    assert reply.text == "ok"
    assert reply.attempts == 2
    assert len(server.requests) == 2
    assert uncached.usage().total.retries == 1


async def test_retry_after_is_honoured(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server, retry_base_s=0.001)
    server.inject(Fault.status(429, retry_after=0.4))
    started = time.perf_counter()
    await uncached.complete(USER, model)
    assert time.perf_counter() - started >= 0.4
    assert len(server.requests) == 2


async def test_retry_after_is_bounded_by_the_time_left(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server, retry_for_s=0.2)
    server.inject(Fault.status(429, retry_after=30))
    started = time.perf_counter()
    reply = await uncached.complete(USER, model)
    assert reply.text == "ok"
    assert time.perf_counter() - started < 5


async def test_400_fails_at_once(server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient) -> None:
    server.inject(Fault.status(400))
    with pytest.raises(ProviderError) as info:
        await uncached.complete(USER, fast)
    assert info.value.status == 400
    assert info.value.attempts == 1
    assert len(server.requests) == 1
    assert uncached.usage().total.errors == 1


@pytest.mark.parametrize("status", [402, 404, 422])
async def test_other_4xx_are_not_retried(
    server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient, status: int
) -> None:
    server.inject(Fault.status(status))
    with pytest.raises(ProviderError) as info:
        await uncached.complete(USER, fast)
    assert info.value.attempts == 1
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_stop_at_once_and_later_calls_are_not_sent(
    server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient, status: int
) -> None:
    server.set_down(Fault.status(status))
    with pytest.raises(ProviderAuthError) as info:
        await uncached.complete(USER, fast)
    assert info.value.status == status and info.value.model == fast.model
    assert fast.model in str(info.value) and str(status) in str(info.value)
    assert not isinstance(info.value, LLMError)  # code that tolerates a failed call must not tolerate this
    assert len(server.requests) == 1
    with pytest.raises(ProviderAuthError):
        await uncached.complete([{"role": "user", "content": "another question"}], fast)
    assert len(server.requests) == 1  # refused again without asking


def test_the_key_variable_is_named_when_known() -> None:
    from agentkit.llm._retry import auth_error

    error = auth_error(ModelConfig(model="anthropic/claude-haiku-4-5"), 401, "invalid x-api-key")
    assert error.key_variable == "ANTHROPIC_API_KEY" and "ANTHROPIC_API_KEY" in str(error)
    assert auth_error(ModelConfig(model="openai/x", api_key="k"), 401, "no").key_variable is None


@pytest.mark.parametrize(
    "fault",
    [Fault.status(500), Fault.status(503), Fault.status(408), Fault.disconnect(), Fault.malformed_json()],
    ids=["500", "503", "408", "disconnect", "malformed"],
)
async def test_transient_failures_are_retried(
    server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient, fault: Fault
) -> None:
    server.inject(fault)
    reply = await uncached.complete(USER, fast)
    assert reply.text == "ok"
    assert len(server.requests) == 2


async def test_hang_hits_the_timeout_and_is_retried(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server, timeout_s=0.3)
    server.inject(Fault.hang(10))
    started = time.perf_counter()
    reply = await uncached.complete(USER, model)
    elapsed = time.perf_counter() - started
    assert reply.text == "ok"
    assert reply.attempts == 2
    assert len(server.requests) == 2
    assert 0.3 <= elapsed < 8.0  # the 10 s hang was cut at the timeout


async def test_attempt_cap_holds(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server, max_attempts=3)
    server.inject(*[Fault.status(503)] * 10)
    with pytest.raises(ProviderError) as info:
        await uncached.complete(USER, model)
    assert info.value.attempts == 3
    assert info.value.status == 503
    assert len(server.requests) == 3
    usage = uncached.usage().total
    assert (usage.calls, usage.errors, usage.retries) == (1, 1, 2)


async def test_total_time_stops_retrying(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server, retry_base_s=0.1, retry_for_s=0.3)
    server.inject(*[Fault.status(500)] * 50)
    started = time.perf_counter()
    with pytest.raises(ProviderError) as info:
        await uncached.complete(USER, model)
    assert info.value.attempts < 50
    assert time.perf_counter() - started < 8.0


def test_backoff_grows_with_jitter() -> None:
    waits = [backoff_s(n, 1.0) for n in (1, 2, 3, 4)]
    for n, wait in enumerate(waits, start=1):
        full = 2 ** (n - 1)
        assert full / 2 <= wait <= full


def test_parse_retry_after() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None


async def test_sync_wrapper_refuses_inside_a_running_loop(
    server: FakeOpenAIServer, fast: ModelConfig
) -> None:
    # complete_sync refuses inside a running loop; the message says to await instead.
    client = LLMClient(cache=False)
    with pytest.raises(RuntimeError, match="await"):
        client.complete_sync(USER, fast)


def test_sync_wrappers(server: FakeOpenAIServer, fast: ModelConfig) -> None:
    client = LLMClient(cache=False)
    # Each call runs in a fresh event loop; the second checks nothing loop-bound was kept.
    assert client.complete_sync(USER, fast).text == "ok"
    assert client.complete_sync(USER, fast).text == "ok"
    parsed = client.complete_fields_sync(USER, fast, ["answer"])
    assert parsed.fields == {"answer": parsed.fields["answer"]} and parsed.fields["answer"]
    assert len(server.requests) == 3


async def test_a_failed_call_of_an_unpriced_model_is_an_unknown_cost(
    server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient
) -> None:
    """A sent call that failed may have been billed: for a model with no price its cost is unknown, and
    the usage says so (it counted as a call priced at $0, so a run's summary read "$0.0000")."""
    server.inject(Fault.status(400))
    with pytest.raises(LLMError):
        await uncached.complete([{"role": "user", "content": "hi"}], fast)
    total = uncached.usage().total
    assert (total.calls, total.errors, total.unpriced_calls) == (1, 1, 1)
    priced = fast.model_copy(update={"price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0})
    server.inject(Fault.status(400))
    with pytest.raises(LLMError):
        await uncached.complete([{"role": "user", "content": "hi"}], priced)
    total = uncached.usage().total
    assert (total.calls, total.errors, total.unpriced_calls, total.cost_usd) == (2, 2, 1, 0.0)
