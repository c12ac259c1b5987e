"""The direct HTTP path for self-hosted OpenAI-compatible servers, and what stays on litellm."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from agentkit.llm import LLMClient, ModelConfig, _http, _litellm
from agentkit.llm._http import HTTPStatusError, HTTPTransportError
from agentkit.llm._litellm import classify_error, direct_name, get_litellm
from agentkit.testing import FakeOpenAIServer, register_scripted_llm

USER = [{"role": "user", "content": "What is 2 + 2? Réponds en français, s'il te plaît."}]
SYSTEM_AND_USER = [{"role": "system", "content": "You are terse."}, *USER]
ConfigFactory = Callable[..., ModelConfig]


@pytest.fixture
def no_litellm_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Make litellm.acompletion record its calls and fail, so a call that reaches it is seen."""
    litellm = get_litellm()
    calls: list[dict[str, Any]] = []

    async def refuse(**kwargs: Any) -> Any:
        calls.append(kwargs)
        raise AssertionError("litellm.acompletion was called")

    monkeypatch.setattr(litellm, "acompletion", refuse)
    return calls


def _fake_local(monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer) -> None:
    # Stand-in for agentkit.llm._local (tested on its own): its server is our fake one.
    fake_local = types.ModuleType("agentkit.llm._local")
    fake_local.ensure_local_server = lambda: server.base_url  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agentkit.llm._local", fake_local)


async def _send_the_variants(client: LLMClient, model: ModelConfig, local: ModelConfig) -> None:
    await client.complete(USER, model)
    await client.complete(SYSTEM_AND_USER, model, temperature=0.0, max_tokens=7)
    await client.complete(USER, model.model_copy(update={"max_tokens": None}))
    await client.complete(USER, model, json_mode=True)
    await client.complete_fields(SYSTEM_AND_USER, model, ["thinking", "answer"], strict=False)
    # The embedded model gets llama.cpp's schema extension inside response_format.
    await client.complete_fields(USER, local, ["answer"], strict=False)


async def test_direct_path_sends_the_body_litellm_sends(
    server: FakeOpenAIServer,
    fast_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
    no_litellm_calls: list[dict[str, Any]],
) -> None:
    _fake_local(monkeypatch, server)
    model, local = fast_config(server), ModelConfig(model="local", timeout_s=5)

    await _send_the_variants(LLMClient(cache=False), model, local)
    direct = server.requests
    assert no_litellm_calls == []

    server.reset()
    monkeypatch.undo()  # litellm answers again; send everything through it this time
    _fake_local(monkeypatch, server)
    monkeypatch.setattr(_litellm, "direct_name", lambda model, api_base: None)
    await _send_the_variants(LLMClient(cache=False), model, local)
    through_litellm = server.requests

    assert len(direct) == len(through_litellm) == 6
    for ours, theirs in zip(direct, through_litellm, strict=True):
        assert ours == theirs
        assert list(ours) == list(theirs)  # the same fields, in the same order
    assert direct[0] == {"model": "fake", "messages": USER, "temperature": 0.5, "max_tokens": 1024}
    assert "max_tokens" not in direct[2]
    assert direct[3]["response_format"] == {"type": "json_object"}
    assert direct[5]["model"] == "smollm2"
    assert direct[5]["response_format"]["schema"]["required"] == ["answer"]


async def test_direct_reply_usage_and_cost(
    server: FakeOpenAIServer, fast: ModelConfig, uncached: LLMClient, no_litellm_calls: list[dict[str, Any]]
) -> None:
    reply = await uncached.complete(USER, fast)
    assert reply.text == "ok" and reply.attempts == 1
    assert reply.prompt_tokens > 0 and reply.completion_tokens == 1
    assert reply.cost_usd is None  # "fake" has no price: none is made up
    assert no_litellm_calls == []


async def test_direct_path_prices_known_models(
    server: FakeOpenAIServer, fast_config: ConfigFactory, uncached: LLMClient
) -> None:
    reply = await uncached.complete(USER, fast_config(server, model="openai/gpt-4o-mini"))
    assert server.requests[-1]["model"] == "gpt-4o-mini"
    expected = reply.prompt_tokens * 0.15e-6 + reply.completion_tokens * 0.6e-6
    assert reply.cost_usd == pytest.approx(expected)


async def test_model_without_api_base_goes_through_litellm(
    monkeypatch: pytest.MonkeyPatch, uncached: LLMClient
) -> None:
    litellm = get_litellm()
    calls: list[dict[str, Any]] = []
    real = functools.partial(litellm.acompletion, mock_response="four")

    async def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return await real(**kwargs)

    monkeypatch.setattr(litellm, "acompletion", counted)
    reply = await uncached.complete(USER, ModelConfig(model="openai/gpt-4o-mini"))
    assert reply.text == "four" and reply.cost_usd is not None and reply.cost_usd > 0
    assert len(calls) == 1 and calls[0]["model"] == "openai/gpt-4o-mini"


async def test_other_providers_go_through_litellm(uncached: LLMClient) -> None:
    scripted = register_scripted_llm(["hello"])
    model = ModelConfig(model="scripted/echo", api_base="http://127.0.0.1:9/v1")
    reply = await uncached.complete(USER, model)
    assert reply.text == "hello"
    assert len(scripted.calls) == 1


async def test_reasoning_models_stay_on_litellm(
    server: FakeOpenAIServer, fast_config: ConfigFactory, uncached: LLMClient
) -> None:
    # litellm renames max_tokens and drops the temperature for these; the direct path would not.
    await uncached.complete(USER, fast_config(server, model="openai/o3-mini"))
    body = server.requests[-1]
    assert body["model"] == "o3-mini"
    assert "max_tokens" not in body and body["max_completion_tokens"] == 1024
    assert "temperature" not in body


def test_which_calls_go_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = get_litellm()
    base = "http://127.0.0.1:8080/v1"
    assert direct_name("openai/fake", base) == "fake"
    assert direct_name("openai/Qwen/Qwen2.5-7B-Instruct", base) == "Qwen/Qwen2.5-7B-Instruct"
    assert direct_name("openai/gpt-4o-mini", base) == "gpt-4o-mini"
    assert direct_name("openai/gpt-4o-mini", None) is None
    assert direct_name("anthropic/claude-haiku-4-5", base) is None
    assert direct_name("openai/o1", base) is None
    # Registered litellm callbacks (logging integrations) must keep seeing every call.
    monkeypatch.setattr(litellm, "success_callback", ["some_logger"])
    assert direct_name("openai/fake", base) is None


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(status, True) for status in (429, 408, 409, 425, 500, 503)],
        *[(status, False) for status in (400, 401, 403, 404, 422, 302)],
    ],
)
def test_status_errors_classify_like_litellms(status: int, retryable: bool) -> None:
    info = classify_error(HTTPStatusError(status, "nope", {"Retry-After": "2"}))
    assert info.provider and info.retryable is retryable and info.status == status
    assert info.retry_after == (2.0 if retryable else None)
    assert str(status) in info.message and "nope" in info.message


def test_transport_errors_are_retryable() -> None:
    info = classify_error(HTTPTransportError("ServerDisconnectedError: Server disconnected"))
    assert info.provider and info.retryable and info.status is None


async def test_error_message_comes_from_the_body(server: FakeOpenAIServer, fast: ModelConfig) -> None:
    from agentkit.llm import ProviderError
    from agentkit.testing import Fault

    server.inject(Fault.status(404))
    with pytest.raises(ProviderError, match="fake server fault: HTTP 404") as info:
        await LLMClient(cache=False).complete(USER, fast)
    assert info.value.status == 404


async def test_unreachable_server_is_a_retried_connection_error(fast_config: ConfigFactory) -> None:
    from agentkit.llm import ProviderError

    with FakeOpenAIServer() as gone:
        model = fast_config(gone, max_attempts=2)
    with pytest.raises(ProviderError, match="HTTPTransportError") as info:
        await LLMClient(cache=False).complete(USER, model)
    assert info.value.attempts == 2 and info.value.status is None


async def test_one_session_per_loop_shared_and_closed_by_the_last_client(
    server: FakeOpenAIServer, fast: ModelConfig
) -> None:
    first, second = LLMClient(cache=False), LLMClient(cache=False)
    await asyncio.gather(first.complete(USER, fast), second.complete(USER, fast))
    entry = _http._by_loop[asyncio.get_running_loop()]
    await first.aclose()
    assert not entry.closed  # the other client still uses it
    await second.aclose()
    assert entry.closed
    assert asyncio.get_running_loop() not in _http._by_loop
    # A closed client is still usable: new connections open on demand.
    assert (await first.complete(USER, fast)).text == "ok"
    assert not _http._by_loop[asyncio.get_running_loop()].closed
    await first.aclose()


def test_sessions_close_with_their_loops(server: FakeOpenAIServer, fast: ModelConfig) -> None:
    client = LLMClient(cache=False)
    sessions = []

    async def call() -> None:
        await client.complete(USER, fast)
        sessions.append(_http._by_loop[asyncio.get_running_loop()])

    for _ in range(2):  # no aclose: the loop's end closes what it opened
        asyncio.run(call())
    assert len(sessions) == 2 and sessions[0] is not sessions[1]
    assert all(s.closed for s in sessions)
    assert not any(loop.is_closed() for loop in _http._by_loop)
    # The sync wrappers (a fresh loop per call) leave nothing open either.
    assert client.complete_sync(USER, fast).text == "ok"
    assert not any(loop.is_closed() for loop in _http._by_loop)


async def test_plain_http_keeps_connections_alive_and_needs_no_aiohttp(
    server: FakeOpenAIServer, fast: ModelConfig
) -> None:
    client = LLMClient(cache=False)
    for _ in range(3):
        assert (await client.complete(USER, fast)).text == "ok"
    entry = _http._by_loop[asyncio.get_running_loop()]
    assert entry.session is None  # an http:// server: no aiohttp session was opened
    assert sum(len(conns) for conns in entry.plain._idle.values()) == 1  # one connection, reused
    # A reply larger than a stream reader's buffer.
    server.add_rule(lambda body: True, '{"thinking": "t", "answer": "' + "x" * 70_000 + '"}')
    big = await client.complete_fields(USER, fast, ["thinking", "answer"])
    assert big.fields["answer"] == "x" * 70_000
    await client.aclose()
    assert entry.closed and entry.plain._idle == {}


async def test_a_proxy_in_the_environment_sends_plain_http_through_aiohttp(
    server: FakeOpenAIServer, fast: ModelConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read when the loop's connections are made (not per request): a proxy named in the environment
    # takes http:// calls to aiohttp, which honours it (and NO_PROXY, which lets this one through).
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = LLMClient(cache=False)
    assert (await client.complete(USER, fast)).text == "ok"
    entry = _http._by_loop[asyncio.get_running_loop()]
    assert entry.proxied and entry.session is not None and entry.plain._idle == {}
    await client.aclose()


async def test_a_connection_the_server_dropped_is_replaced(
    server: FakeOpenAIServer, fast: ModelConfig
) -> None:
    client = LLMClient(cache=False)
    assert (await client.complete(USER, fast)).text == "ok"
    entry = _http._by_loop[asyncio.get_running_loop()]
    for conns in entry.plain._idle.values():
        for conn in conns:
            conn.writer.transport.abort()  # as a server closing an idle connection would
    await asyncio.sleep(0.05)
    reply = await client.complete(USER, fast)
    assert reply.text == "ok" and reply.attempts == 1  # a new connection, not a retried call
    await client.aclose()


def test_importing_agentkit_llm_does_not_import_aiohttp() -> None:
    code = "import sys, agentkit.llm; print('aiohttp' in sys.modules, 'litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
