"""Cost from litellm's price map (None when unknown, never invented) and usage per model and role."""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable

import pytest

from agentkit.llm import LLMClient, ModelConfig
from agentkit.llm._litellm import get_litellm
from agentkit.testing import FakeOpenAIServer, register_scripted_llm

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]


async def test_fake_model_has_no_cost(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    reply = await uncached.complete(USER, fast_config(server))
    assert reply.cost_usd is None
    usage = uncached.usage().total
    assert usage.cost_usd is None and usage.unpriced_calls == 1


async def test_scripted_provider_has_no_cost(uncached: LLMClient) -> None:
    scripted = register_scripted_llm(["hello"])
    reply = await uncached.complete(USER, ModelConfig(model="scripted/echo"))
    assert reply.text == "hello" and reply.cost_usd is None
    assert len(scripted.calls) == 1


async def test_priced_model_has_a_real_cost(monkeypatch: pytest.MonkeyPatch, uncached: LLMClient) -> None:
    litellm = get_litellm()
    # litellm's mock_response answers offline, as the real model would be billed.
    monkeypatch.setattr(litellm, "acompletion", functools.partial(litellm.acompletion, mock_response="four"))
    reply = await uncached.complete(USER, ModelConfig(model="openai/gpt-4o-mini"))
    assert reply.text == "four"
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    expected = reply.prompt_tokens * 0.15e-6 + reply.completion_tokens * 0.6e-6
    assert reply.cost_usd == pytest.approx(expected)
    assert uncached.usage().by_model["openai/gpt-4o-mini"].cost_usd == pytest.approx(expected)


async def test_usage_per_model_and_role(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    fake = fast_config(server)
    other = fast_config(server, model="openai/other")
    await uncached.complete(USER, fake, role="meta")
    await uncached.complete(USER, fake, role="agent")
    await uncached.complete(USER, other, role="agent")
    await uncached.complete(USER, other, role="reflect")
    usage = uncached.usage()
    assert usage.total.calls == 4
    assert {k: v.calls for k, v in usage.by_model.items()} == {"openai/fake": 2, "openai/other": 2}
    assert {k: v.calls for k, v in usage.by_role.items()} == {"meta": 1, "agent": 2, "reflect": 1}
    assert usage.total.prompt_tokens == sum(v.prompt_tokens for v in usage.by_role.values()) > 0
    assert usage.total.total_tokens == usage.total.prompt_tokens + usage.total.completion_tokens


async def test_local_model_goes_through_the_embedded_server(
    server: FakeOpenAIServer, uncached: LLMClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for agentkit.llm._local (tested on its own): its server is our fake one.
    fake_local = types.ModuleType("agentkit.llm._local")
    fake_local.ensure_local_server = lambda: server.base_url  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agentkit.llm._local", fake_local)
    reply = await uncached.complete(USER, ModelConfig(model="local", timeout_s=5))
    assert reply.text == "ok" and reply.model == "local" and reply.cost_usd == 0.0  # runs locally: free
    assert server.requests[-1]["model"] == "smollm2"
