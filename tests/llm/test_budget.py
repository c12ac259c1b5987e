"""The hard budget: the call that would cross a limit raises before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from agentkit.llm import Budget, BudgetExceeded, LLMClient, ModelConfig
from agentkit.llm._usage import estimate_prompt_tokens
from agentkit.testing import FakeOpenAIServer, FakeReply

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]


def _fixed_usage(tokens: int) -> FakeOpenAIServer:
    return FakeOpenAIServer(
        lambda body: FakeReply(content="ok", prompt_tokens=tokens, completion_tokens=tokens)
    )


async def test_call_limit(server: FakeOpenAIServer, fast_config: ConfigFactory) -> None:
    client = LLMClient(cache=False, budget=Budget(max_calls=2))
    model = fast_config(server)
    await client.complete(USER, model)
    await client.complete(USER, model)
    with pytest.raises(BudgetExceeded) as info:
        await client.complete(USER, model)
    assert len(server.requests) == 2
    assert info.value.spent["calls"] == 2


async def test_token_limit_uses_the_worst_case_of_the_next_call(fast_config: ConfigFactory) -> None:
    with _fixed_usage(10) as server:
        model = fast_config(server)
        worst = estimate_prompt_tokens(USER) + 10  # prompt bound + max_tokens
        # Two calls of 20 real tokens fit; the third could need `worst` on top of 40 and is refused.
        client = LLMClient(cache=False, budget=Budget(max_tokens=40 + worst - 1))
        await client.complete(USER, model, max_tokens=10)
        await client.complete(USER, model, max_tokens=10)
        with pytest.raises(BudgetExceeded) as info:
            await client.complete(USER, model, max_tokens=10)
        assert len(server.requests) == 2
        assert info.value.spent["tokens"] == 40


async def test_cost_limit_with_a_priced_model(fast_config: ConfigFactory) -> None:
    with _fixed_usage(1000) as server:
        # The fake server answers any model name; gpt-4o-mini is in litellm's price map.
        model = fast_config(server, model="openai/gpt-4o-mini", max_tokens=1000)
        client = LLMClient(cache=False, budget=Budget(max_cost_usd=0.002))
        first = await client.complete(USER, model)
        assert first.cost_usd is not None
        assert first.cost_usd == pytest.approx(1000 * 0.15e-6 + 1000 * 0.6e-6)
        await client.complete(USER, model)
        with pytest.raises(BudgetExceeded) as info:
            await client.complete(USER, model)
        assert len(server.requests) == 2
        assert info.value.spent["cost_usd"] == pytest.approx(2 * first.cost_usd)
        assert "spent" in str(info.value)


async def test_unpriced_model_is_not_stopped_by_a_dollar_limit(
    server: FakeOpenAIServer, fast_config: ConfigFactory
) -> None:
    client = LLMClient(cache=False, budget=Budget(max_cost_usd=0.0))
    reply = await client.complete(USER, fast_config(server))
    assert reply.cost_usd is None


async def test_concurrent_calls_cannot_cross_together(fast_config: ConfigFactory) -> None:
    with FakeOpenAIServer(latency_s=0.1) as server:
        client = LLMClient(cache=False, budget=Budget(max_calls=3))
        model = fast_config(server)
        results = await asyncio.gather(
            *(client.complete(USER, model) for _ in range(10)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, BudgetExceeded)]
        assert len(refused) == 7
        assert len(server.requests) == 3
        assert client.usage().total.calls == 3


async def test_cache_hits_are_free(
    server: FakeOpenAIServer, tmp_path: Path, fast_config: ConfigFactory
) -> None:
    client = LLMClient(cache_dir=tmp_path, budget=Budget(max_calls=1))
    model = fast_config(server)
    await client.complete(USER, model)
    again = await client.complete(USER, model)
    assert again.cached
    with pytest.raises(BudgetExceeded):
        await client.complete(USER, model, sample_index=1)
    assert len(server.requests) == 1


def test_prompt_estimate_is_an_upper_bound_on_bytes() -> None:
    text = "héllo wörld " * 50
    messages = [{"role": "user", "content": text}]
    assert estimate_prompt_tokens(messages) >= len(text.encode("utf-8"))
