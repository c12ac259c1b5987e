"""The circuit breaker: its state machine on an injected clock, and a client against the fake server while
it is down (calls are held, not hammering the server, and all succeed once it is back)."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentkit.llm import LLMClient, ModelConfig, ModelPause
from agentkit.llm._breaker import CircuitBreaker, Permit, provider_failed
from agentkit.testing import FakeOpenAIServer, Fault, model_config_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, **settings: float) -> CircuitBreaker:
    options = {"failures": 5, "window": 8, "pause_s": 4.0, "max_pause_s": 60.0} | settings
    return CircuitBreaker(clock=clock, **options)  # type: ignore[arg-type]


def _send(breaker: CircuitBreaker, failed: bool | None) -> str | None:
    permit = breaker.admit()
    assert permit is not None and not permit.probe
    return breaker.record(permit, failed)


def test_it_opens_on_5_failures_of_the_last_8_only() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for failed in [True] * 4 + [False] * 8 + [True] * 4:  # never more than 4 failures in the last 8
        assert _send(breaker, failed) is None
    assert _send(breaker, True) == "opened"  # 5 of the last 8
    assert breaker.state == "open" and breaker.admit() is None
    assert breaker.wait_s() == pytest.approx(4.0)
    assert breaker.pause().pause_s == 4.0 and breaker.pause().failed == 5


def test_answers_and_no_verdicts_do_not_count() -> None:
    breaker = _breaker(Clock())
    for _ in range(20):
        assert _send(breaker, None) is None  # cancelled or our own error: says nothing of the provider
        assert _send(breaker, False) is None
    assert breaker.state == "closed"


def test_one_probe_after_the_pause_then_closed_or_open_for_twice_as_long() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(5):
        _send(breaker, True)
    clock.now += 3.9
    assert breaker.admit() is None and breaker.wait_s() == pytest.approx(0.1)
    clock.now += 0.1
    probe = breaker.admit()
    assert probe is not None and probe.probe
    assert breaker.admit() is None and breaker.wait_s() > 0  # the others wait for the probe's verdict
    assert breaker.record(probe, True) == "opened"
    assert breaker.wait_s() == pytest.approx(8.0) and breaker.openings == 2
    pauses = [8.0]
    for _ in range(5):  # each failed probe doubles the pause, up to the longest
        clock.now += breaker.wait_s()
        probe = breaker.admit()
        assert probe is not None and probe.probe
        breaker.record(probe, True)
        pauses.append(breaker.pause().pause_s)
    assert pauses == [8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    clock.now += breaker.wait_s()
    probe = breaker.admit()
    assert probe is not None
    assert breaker.record(probe, False) == "closed"
    assert breaker.state == "closed" and breaker.wait_s() == 0.0
    for _ in range(5):  # after it answered, the next outage starts from the first pause again
        _send(breaker, True)
    assert breaker.pause().pause_s == 4.0


def test_a_probe_without_verdict_lets_the_next_call_probe() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(5):
        _send(breaker, True)
    clock.now += 4.0
    probe = breaker.admit()
    assert probe is not None and breaker.admit() is None
    assert breaker.record(probe, None) is None  # cancelled
    again = breaker.admit()
    assert again is not None and again.probe


def test_requests_that_finish_while_it_is_open_do_not_reopen_it() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    late = [breaker.admit() for _ in range(3)]
    for _ in range(5):
        _send(breaker, True)
    for permit in late:
        assert permit is not None and breaker.record(permit, True) is None
    assert breaker.openings == 1 and breaker.pause().pause_s == 4.0


def test_what_counts_as_the_providers_failure() -> None:
    from agentkit.llm._http import HTTPStatusError, HTTPTransportError

    assert provider_failed(None) is False
    assert provider_failed(TimeoutError()) is True
    assert provider_failed(HTTPTransportError("connection reset")) is True
    assert provider_failed(HTTPStatusError(503, "down", {})) is True
    assert provider_failed(HTTPStatusError(429, "slow down", {})) is True
    assert provider_failed(HTTPStatusError(400, "bad request", {})) is False  # answered
    assert provider_failed(asyncio.CancelledError()) is None
    assert provider_failed(ValueError("ours")) is None
    assert Permit(probe=True).probe


def _model(server: FakeOpenAIServer, **overrides: object) -> ModelConfig:
    settings: dict[str, object] = {
        "timeout_s": 5.0,
        "retry_base_s": 0.05,
        "retry_max_wait_s": 0.2,
        "retry_for_s": 60.0,
        "breaker_pause_s": 0.5,
        "breaker_max_pause_s": 2.0,
    }
    return model_config_for(server, **(settings | overrides))


async def _outage(
    server: FakeOpenAIServer, model: ModelConfig, down_s: float
) -> tuple[int, list[str], float]:
    """Eight calls at once while the server is down for `down_s`: (requests it saw meanwhile, the pause
    events, seconds the calls took)."""
    events: list[ModelPause] = []
    client = LLMClient(cache=False)
    client.add_pause_listener(events.append)
    server.set_down(Fault.status(503))
    seen: list[int] = []

    def back() -> None:
        seen.append(len(server.requests))
        server.set_up()

    asyncio.get_running_loop().call_later(down_s, back)
    started = time.monotonic()
    replies = await asyncio.gather(
        *(client.complete([{"role": "user", "content": f"question {i}"}], model) for i in range(8))
    )
    took = time.monotonic() - started
    assert all(r.text for r in replies)
    usage = client.usage().total
    assert usage.calls == 8 and usage.errors == 0  # each call counted once, none failed
    await client.aclose()
    return seen[0], [e.describe() for e in events], took


async def test_an_outage_holds_the_calls_instead_of_hammering_and_they_all_succeed_after() -> None:
    with FakeOpenAIServer() as server:
        requests, events, took = await _outage(server, _model(server), 3.0)
    # 8 first attempts, a few retries until 5 failures open it, then one probe per pause (0.5, 1, 2 s).
    assert requests <= 16, requests
    assert any("not answering" in e and "pausing" in e for e in events), events
    # what the provider said, not only that it failed
    assert any("; last: HTTPStatusError: HTTP 503" in e for e in events), events
    assert events[-1].endswith("answers again; calls continue"), events
    assert took < 30


async def test_without_the_breaker_the_same_outage_is_hammered() -> None:
    with FakeOpenAIServer() as server:
        requests, events, _ = await _outage(server, _model(server, breaker_failures=None), 3.0)
    assert requests > 40, requests  # what the breaker saves (each call retries every 0.2 s at most)
    assert events == []


async def test_a_new_server_on_a_port_an_outage_left_paused_is_not_held_once_forgotten() -> None:
    from agentkit.llm._breaker import breaker_for
    from agentkit.llm._endpoint_memory import forget_endpoints

    with FakeOpenAIServer() as server:
        model = model_config_for(server, retry_base_s=0.01, retry_for_s=0.2, max_attempts=8)
        breaker = breaker_for(model)
        for _ in range(5):
            _send(breaker, True)
        assert breaker.state == "open"
        # What the next test would inherit from this process if its server got the same port:
        assert breaker_for(model).state == "open"
        forget_endpoints()  # what tests/conftest.py does between tests
        assert breaker_for(model).state == "closed"
        client = LLMClient(cache=False)
        try:
            started = time.perf_counter()
            await client.complete([{"role": "user", "content": "hi"}], model)
            assert time.perf_counter() - started < breaker.wait_s()  # not held for the old pause
        finally:
            await client.aclose()


def test_down_for_counts_from_the_first_opening_until_a_probe_is_answered() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    assert breaker.down_for() == 0.0
    for _ in range(5):
        _send(breaker, True)
    clock.now += 4.0
    probe = breaker.admit()
    assert probe is not None and probe.probe
    breaker.record(probe, True)  # reopened: the outage goes on
    clock.now += 8.0
    assert breaker.down_for() == 12.0
    probe = breaker.admit()
    assert probe is not None
    breaker.record(probe, False)
    assert breaker.state == "closed" and breaker.down_for() == 0.0


async def test_calls_stop_waiting_for_a_model_that_stays_down_and_wait_again_once_it_answers() -> None:
    from agentkit.errors import ProviderError

    with FakeOpenAIServer() as server:
        model = _model(server, breaker_give_up_s=2.0)
        client = LLMClient(cache=False)
        server.set_down(Fault.status(503))
        try:
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(client.complete([{"role": "user", "content": f"q{i}"}], model) for i in range(8)),
                return_exceptions=True,
            )
            took = time.monotonic() - started
            # every call failed as the provider's failure, a little after the give-up, not at retry_for_s
            assert all(isinstance(o, ProviderError) and o.infrastructure for o in outcomes), outcomes
            assert any(
                "not answering for" in str(o) and "calls no longer wait for it" in str(o) for o in outcomes
            )
            assert took < 10, took
            # a new call fails at once while the model is still down, and its listeners hear of it
            heard: list[object] = []
            client.add_listener(heard.append)
            started = time.monotonic()
            with pytest.raises(ProviderError, match="not answering for"):
                await client.complete([{"role": "user", "content": "later"}], model)
            assert time.monotonic() - started < 1.0
            assert len(heard) == 1 and isinstance(getattr(heard[0], "error", None), ProviderError)
            server.set_up()
            await asyncio.sleep(2.5)  # past the longest pause: the next call is the probe, and is answered
            reply = await client.complete([{"role": "user", "content": "back"}], model)
            assert reply.text
        finally:
            await client.aclose()
