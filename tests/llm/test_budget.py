"""The hard budget: the call that would cross a limit raises before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentkit.errors import ConfigError
from agentkit.evaluate import Session
from agentkit.llm import Budget, BudgetExceeded, LLMClient, ModelConfig, set_price, unset_price
from agentkit.llm._prices import check_budget, price_for
from agentkit.llm._usage import estimate_prompt_tokens
from agentkit.testing import FakeOpenAIServer, FakeReply, model_config_for

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


async def test_a_dollar_limit_refuses_an_unpriced_model_before_sending(
    server: FakeOpenAIServer, fast_config: ConfigFactory, tmp_path: Path
) -> None:
    model = fast_config(server)  # "openai/fake": litellm knows no price for it
    await LLMClient(cache_dir=tmp_path).complete(USER, model)  # cached by a client without a limit
    client = LLMClient(cache_dir=tmp_path, budget=Budget(max_cost_usd=1.0))
    with pytest.raises(ConfigError) as info:
        await client.complete(USER, model)  # not even the cached reply: the run would work only when warm
    message = str(info.value)
    assert message.startswith(
        "the dollar budget ($1) cannot be enforced: no price is known for model 'openai/fake'"
    )
    assert "--price openai/fake=IN,OUT" in message and "--budget-tokens / --budget-calls" in message
    assert len(server.requests) == 1  # only the first client's call
    with pytest.raises(ConfigError, match="'openai/fake'"):
        client.check_budget([model])
    # Without a dollar limit the same model runs; its calls are counted as unpriced.
    other = LLMClient(cache=False, budget=Budget(max_calls=5))
    reply = await other.complete(USER, model)
    assert reply.cost_usd is None and other.usage().total.unpriced_calls == 1


async def test_a_price_given_in_the_model_config_is_charged_and_enforced(fast_config: ConfigFactory) -> None:
    with _fixed_usage(1000) as server:
        model = fast_config(server, max_tokens=1000, price_in_per_mtok=1.0, price_out_per_mtok=2.0)
        per_call = 1000 * 1e-6 + 1000 * 2e-6
        worst = estimate_prompt_tokens(USER) * 1e-6 + 1000 * 2e-6
        # Two calls fit; the third's worst case on top of what they spent crosses the limit.
        client = LLMClient(cache=False, budget=Budget(max_cost_usd=2 * per_call + worst - 1e-9))
        first = await client.complete(USER, model)
        assert first.cost_usd == pytest.approx(per_call)
        await client.complete(USER, model)
        with pytest.raises(BudgetExceeded) as info:
            await client.complete(USER, model)
        assert len(server.requests) == 2
        assert info.value.spent["cost_usd"] == pytest.approx(2 * per_call)


async def test_set_price_prices_a_model_by_name(server: FakeOpenAIServer, fast_config: ConfigFactory) -> None:
    client = LLMClient(cache=False, budget=Budget(max_cost_usd=1.0))
    set_price("openai/fake", 3.0, 5.0)
    try:
        client.check_budget(["openai/fake", "local"])
        reply = await client.complete(USER, fast_config(server))
        assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
        assert reply.cost_usd == pytest.approx(
            (3.0 * reply.prompt_tokens + 5.0 * reply.completion_tokens) / 1e6
        )
        # A model's own price fields win over the one given by name.
        own = fast_config(server, price_in_per_mtok=0.0, price_out_per_mtok=0.0)
        assert (await client.complete(USER, own, sample_index=1)).cost_usd == 0.0
    finally:
        unset_price("openai/fake")
    with pytest.raises(ConfigError, match="'openai/fake'"):
        client.check_budget(["openai/fake"])


def test_the_embedded_model_has_a_known_price_of_zero() -> None:
    check_budget(Budget(max_cost_usd=0.0), ["local"])  # no error: its price is known
    price = price_for(ModelConfig(model="local"))
    assert price is not None and (price.input_per_token, price.output_per_token) == (0.0, 0.0)


def test_a_price_needs_both_directions() -> None:
    with pytest.raises(ValidationError, match="give both price_in_per_mtok and price_out_per_mtok"):
        ModelConfig(model="openai/x", price_in_per_mtok=1.0)
    with pytest.raises(ConfigError, match="must be >= 0"):
        set_price("openai/x", -1.0, 1.0)


async def test_a_session_refuses_an_unpriced_model_before_starting(server: FakeOpenAIServer) -> None:
    with pytest.raises(ConfigError, match="no price is known for model 'openai/fake'"):
        async with Session.open(
            model_config_for(server), isolation="trusted", cache=False, budget=Budget(max_cost_usd=1.0)
        ):
            pass
    assert server.requests == []


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
