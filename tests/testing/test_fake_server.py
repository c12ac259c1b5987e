"""FakeOpenAIServer over real HTTP: replies, recording, faults, latency and concurrency."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import openai
import pytest

from agentkit.testing import FakeOpenAIServer, FakeReply, Fault, model_config_for

JSON_PROMPT = 'Solve it.\nReply with a JSON object with exactly these keys: "thinking", "answer".'


def body(content: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "fake", "messages": [{"role": "user", "content": content}], **extra}


def post(server: FakeOpenAIServer, payload: dict[str, Any], timeout: float = 5.0) -> tuple[int, dict, str]:
    """POST a chat request with urllib; returns (status, headers, text)."""
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def test_openai_sdk_gets_a_complete_response_and_the_request_is_recorded(server: FakeOpenAIServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    response = client.chat.completions.create(
        model="fake",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say ok please"}],
        response_format={"type": "json_object"},
        temperature=0.3,
    )
    assert response.id.startswith("chatcmpl-")
    assert response.model == "fake"
    assert response.choices[0].message.content == "ok"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None
    assert response.usage.prompt_tokens == 5  # "Be brief." + "Say ok please"
    assert response.usage.completion_tokens == 1
    assert response.usage.total_tokens == 6
    [recorded] = server.requests
    assert recorded["response_format"] == {"type": "json_object"}
    assert recorded["temperature"] == 0.3
    assert recorded["messages"][1]["content"] == "Say ok please"


def test_models_endpoint_lists_the_fake_model(server: FakeOpenAIServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    assert [m.id for m in client.models.list()] == ["fake"]


def test_default_responder_answers_requested_json_keys(server: FakeOpenAIServer) -> None:
    status, _, text = post(server, body(JSON_PROMPT))
    assert status == 200
    content = json.loads(json.loads(text)["choices"][0]["message"]["content"])
    assert list(content) == ["thinking", "answer"]
    assert content["answer"] == "fake"


def test_rules_checked_in_order_then_responder_then_default() -> None:
    def responder(request: dict[str, Any]) -> str | None:
        return "from responder" if "responder" in request["messages"][-1]["content"] else None

    with FakeOpenAIServer(responder) as server:
        server.add_rule(lambda r: "apple" in r["messages"][-1]["content"], "first rule")
        server.add_rule(lambda r: "apple" in r["messages"][-1]["content"], "never used")
        server.add_rule(
            lambda r: "pear" in r["messages"][-1]["content"],
            lambda r: FakeReply(content="pear rule", prompt_tokens=7, completion_tokens=3),
        )
        replies = [json.loads(post(server, body(c))[2]) for c in ["apple", "pear", "responder", "other"]]
    contents = [r["choices"][0]["message"]["content"] for r in replies]
    assert contents == ["first rule", "pear rule", "from responder", "ok"]
    assert replies[1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_responder_error_is_a_500_and_is_recorded() -> None:
    def broken(request: dict[str, Any]) -> str:
        raise ValueError("boom")

    with FakeOpenAIServer(broken) as server:
        status, _, text = post(server, body())
        assert status == 500
        assert "boom" in json.loads(text)["error"]["message"]
        assert server.responder_errors == ["ValueError('boom')"]


def test_status_faults_are_consumed_fifo_one_per_request(server: FakeOpenAIServer) -> None:
    server.inject(Fault.status(429, retry_after=1.0), Fault.status(500), Fault.status(400))
    assert server.pending_faults == 3
    results = [post(server, body()) for _ in range(4)]
    assert [status for status, _, _ in results] == [429, 500, 400, 200]
    _, headers, text = results[0]
    assert headers["Retry-After"] == "1"
    assert json.loads(text)["error"]["type"] == "rate_limit_error"
    assert json.loads(results[1][2])["error"]["type"] == "server_error"
    assert json.loads(results[2][2])["error"]["type"] == "invalid_request_error"
    assert "Retry-After" not in results[1][1]
    assert server.pending_faults == 0
    assert len(server.requests) == 4  # faulted requests are recorded too


def test_openai_sdk_sees_429_as_rate_limit_with_retry_after(server: FakeOpenAIServer) -> None:
    server.inject(Fault.status(429, retry_after=2.5))
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "2.5"


def test_hang_makes_the_client_time_out_then_the_server_recovers(server: FakeOpenAIServer) -> None:
    server.inject(Fault.hang(5.0))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        post(server, body(), timeout=0.3)
    assert time.monotonic() - started < 5.0  # gave up on its own timeout, not when the hang ended
    status, _, _ = post(server, body())
    assert status == 200


def test_hang_shorter_than_the_timeout_replies_normally_after_the_wait(server: FakeOpenAIServer) -> None:
    server.inject(Fault.hang(0.2))
    started = time.monotonic()
    status, _, text = post(server, body())
    assert status == 200
    assert json.loads(text)["choices"][0]["message"]["content"] == "ok"
    assert time.monotonic() - started >= 0.19


def test_disconnect_closes_without_a_response(server: FakeOpenAIServer) -> None:
    server.inject(Fault.disconnect())
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}])
    assert (
        client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}])
        .choices[0]
        .message.content
        == "ok"
    )
    assert server.in_flight == 0


def test_malformed_json_is_a_200_whose_body_does_not_parse(server: FakeOpenAIServer) -> None:
    server.inject(Fault.malformed_json())
    status, headers, text = post(server, body())
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_stream_requests_are_refused_explicitly(server: FakeOpenAIServer) -> None:
    status, _, text = post(server, body(stream=True))
    assert status == 400
    assert "stream" in json.loads(text)["error"]["message"]


def test_latency_with_jitter_stays_within_bounds_and_reply_latency_overrides() -> None:
    # The waits the server chose are checked, and the wall time only from below: a loaded machine can
    # make any reply late, never early.
    with FakeOpenAIServer(latency_s=0.15, jitter_s=0.05, seed=3) as server:
        for _ in range(3):
            started = time.monotonic()
            post(server, body())
            elapsed = time.monotonic() - started
            assert elapsed >= server.delays[-1]
        assert all(0.1 <= d <= 0.2 for d in server.delays)
        assert len(set(server.delays)) == 3  # jittered, not one fixed wait
        server.add_rule(lambda r: True, FakeReply(content="fast", latency_s=0.0))
        post(server, body())
        assert server.delays[-1] == 0.0
        server.reset()
        assert server.delays == []


async def test_max_in_flight_under_concurrent_load() -> None:
    with FakeOpenAIServer(latency_s=0.2) as server:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> str:
                async with session.post(
                    server.base_url + "/chat/completions", json=body(f"request {i}")
                ) as response:
                    data = await response.json()
                    return str(data["choices"][0]["message"]["content"])

            started = time.monotonic()
            replies = await asyncio.gather(*(one(i) for i in range(20)))
            elapsed = time.monotonic() - started
        assert replies == ["ok"] * 20
        assert server.max_in_flight == 20
        assert server.in_flight == 0
        assert elapsed >= 0.2
        assert sorted(r["messages"][0]["content"] for r in server.requests) == sorted(
            f"request {i}" for i in range(20)
        )
        server.reset()
        assert server.requests == [] and server.max_in_flight == 0


def test_stop_is_quick_with_a_hanging_request_and_frees_the_port() -> None:
    server = FakeOpenAIServer().start()
    port = server.port
    server.inject(Fault.hang(30.0))
    outcome: list[object] = []

    def client() -> None:
        try:
            outcome.append(post(server, body(), timeout=10.0))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    deadline = time.monotonic() + 2.0
    while server.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.in_flight == 1
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 15.0  # did not wait out the 30 s hang
    thread.join(5.0)
    assert outcome and not isinstance(outcome[0], tuple)  # the client got no normal reply
    # Nothing listens any more (binding again could still hit TIME_WAIT of the cut connection).
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_model_config_for_points_at_the_server(server: FakeOpenAIServer) -> None:
    from agentkit.llm import ModelConfig

    config = model_config_for(server, timeout_s=0.5, max_attempts=2)
    assert type(config) is ModelConfig
    assert config.model == "openai/fake"
    assert config.api_base == server.base_url
    assert config.api_key == "x"
    assert config.timeout_s == 0.5 and config.max_attempts == 2
