"""ScriptedLLM through litellm itself (no network, no HTTP)."""

from __future__ import annotations

import json
from typing import Any

import litellm  # a dependency of agentkit: missing, the tests fail rather than skip
import pytest

from agentkit.testing import FakeReply, SimulatedModel, register_scripted_llm

MESSAGES = [{"role": "user", "content": "say something nice"}]


async def test_list_script_is_replayed_in_order_and_recorded() -> None:
    scripted = register_scripted_llm(
        ["first", FakeReply(content="second", prompt_tokens=11, completion_tokens=2)]
    )
    one = await litellm.acompletion(model="scripted/x", messages=MESSAGES, temperature=0.2)
    two = await litellm.acompletion(model="scripted/y", messages=MESSAGES)
    assert one.choices[0].message.content == "first"
    assert one.usage.prompt_tokens == 3 and one.usage.completion_tokens == 1
    assert two.choices[0].message.content == "second"
    assert (two.usage.prompt_tokens, two.usage.completion_tokens, two.usage.total_tokens) == (11, 2, 13)
    assert [c["model"] for c in scripted.calls] == ["x", "y"]
    assert scripted.calls[0]["temperature"] == 0.2
    assert scripted.calls[0]["messages"] == MESSAGES
    assert scripted.remaining == 0
    with pytest.raises(
        litellm.InternalServerError, match="ScriptedLLM: script exhausted after 2 replies"
    ) as info:
        await litellm.acompletion(model="scripted/x", messages=MESSAGES, num_retries=0)
    assert info.value.status_code == 500  # a provider error the client retries, not a refusal


async def test_function_script_and_default_fallback() -> None:
    def reply(request: dict[str, Any]) -> str | None:
        return "yes" if "nice" in request["messages"][-1]["content"] else None

    register_scripted_llm(reply)
    nice = await litellm.acompletion(model="scripted/x", messages=MESSAGES)
    fields = await litellm.acompletion(
        model="scripted/x", messages=[{"role": "user", "content": 'these keys: "answer"'}]
    )
    assert nice.choices[0].message.content == "yes"
    assert json.loads(fields.choices[0].message.content) == {"answer": "fake"}


async def test_scripted_exception_is_raised_through_litellm() -> None:
    register_scripted_llm([ValueError("scripted failure"), "after"])
    with pytest.raises(litellm.APIConnectionError, match="scripted failure"):
        await litellm.acompletion(model="scripted/x", messages=MESSAGES, num_retries=0)
    after = await litellm.acompletion(model="scripted/x", messages=MESSAGES)
    assert after.choices[0].message.content == "after"


def test_sync_completion_and_a_simulated_model_as_script() -> None:
    register_scripted_llm(SimulatedModel(base_accuracy=1.0, completion_tokens=4))
    response = litellm.completion(
        model="scripted/sim", messages=[{"role": "user", "content": "What is 2 + 2?"}]
    )
    assert response.choices[0].message.content == "4"
    assert response.usage.completion_tokens == 4


def test_registering_again_replaces_the_provider() -> None:
    register_scripted_llm(["old"])
    register_scripted_llm(["new"])
    assert [i["provider"] for i in litellm.custom_provider_map].count("scripted") == 1
    response = litellm.completion(model="scripted/x", messages=MESSAGES)
    assert response.choices[0].message.content == "new"


async def test_litellm_reads_the_fake_servers_replies_and_faults() -> None:
    from agentkit.testing import FakeOpenAIServer, Fault

    with FakeOpenAIServer() as server:
        server.inject(Fault.status(429, retry_after=0.1), Fault.malformed_json())
        kwargs: dict[str, Any] = {"api_base": server.base_url, "api_key": "x", "num_retries": 0}
        with pytest.raises(litellm.RateLimitError):
            await litellm.acompletion(model="openai/fake", messages=MESSAGES, **kwargs)
        # litellm maps a 200 whose body does not parse to InternalServerError (so it is retryable).
        with pytest.raises(litellm.InternalServerError):
            await litellm.acompletion(model="openai/fake", messages=MESSAGES, max_retries=0, **kwargs)
        ok = await litellm.acompletion(model="openai/fake", messages=MESSAGES, **kwargs)
    assert ok.choices[0].message.content == "ok"
    assert ok.usage.prompt_tokens == 3 and ok.usage.completion_tokens == 1
