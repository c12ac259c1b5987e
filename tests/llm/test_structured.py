"""Named fields: the tolerant parser on tricky replies, and complete_fields end to end."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import BaseModel, Field

from agentkit.llm import LLMClient, ModelConfig, StructuredOutputError, parse_fields
from agentkit.llm._structured import format_instruction, with_instruction
from agentkit.testing import FakeOpenAIServer, Fault

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]

NAMES = ["thinking", "answer"]


@pytest.mark.parametrize(
    "reply",
    [
        '{"thinking": "add", "answer": "4"}',
        '```json\n{"thinking": "add", "answer": "4"}\n```',
        '```\n{"thinking": "add", "answer": "4"}\n```\nHope that helps!',
        'Sure! Here is my reply: {"thinking": "add", "answer": "4"} Let me know.',
        "{'thinking': 'add', 'answer': '4'}",
        '{"thinking": "add", "answer": "4",}',
        '{\n  "thinking": "add",\n  "answer": "4",\n}\n',
        '{"Thinking": "add", "ANSWER": "4"}',
        '{"result": {"thinking": "add", "answer": "4"}}',
        '{"thinking": "add", "answer": 4}',
        'First {"note": "x"} then {"thinking": "add", "answer": "4"}',
        '{"thinking": "add", "answer": "4"',
        "thinking: add\nanswer: 4",
    ],
)
def test_tricky_replies_parse(reply: str) -> None:
    parsed = parse_fields(reply, NAMES)
    assert parsed.error is None, parsed.error
    assert parsed.fields == {"thinking": "add", "answer": "4"}


def test_values_are_strings() -> None:
    parsed = parse_fields(
        '{"answer": [1, 2], "thinking": {"a": true}, "n": null}', ["answer", "thinking", "n"]
    )
    assert parsed.fields == {"answer": "[1, 2]", "thinking": '{"a": true}', "n": "null"}


def test_python_literals_and_json_words() -> None:
    assert parse_fields("{'answer': True, 'thinking': None}", NAMES).fields == {
        "thinking": "null",
        "answer": "true",
    }
    parsed = parse_fields("{'answer': true, 'thinking': 'it is not false'}", NAMES)
    assert parsed.fields == {"thinking": "it is not false", "answer": "true"}


def test_braces_and_newlines_inside_strings() -> None:
    reply = '{"thinking": "a set {1, 2}\nand more", "answer": "x = {y}"}'
    assert parse_fields(reply, NAMES).fields == {"thinking": "a set {1, 2}\nand more", "answer": "x = {y}"}


def test_cut_off_reply_keeps_what_it_has() -> None:
    parsed = parse_fields('{"thinking": "long reasoning, then the reply stopp', NAMES)
    assert parsed.fields["thinking"].startswith("long reasoning")
    assert parsed.missing == ["answer"]
    assert parsed.error and "answer" in parsed.error


def test_nothing_parses() -> None:
    parsed = parse_fields("I cannot help with that.", NAMES)
    assert not parsed.found_any
    assert parsed.fields == {"thinking": "", "answer": ""}
    assert parsed.error


def test_field_order_follows_the_request() -> None:
    parsed = parse_fields('{"answer": "4", "thinking": "add"}', NAMES)
    assert list(parsed.fields) == NAMES


class Reasoned(BaseModel):
    thinking: str = Field(description="Your step-by-step reasoning.")
    answer: str = Field(description="The final answer only.")


def test_instruction_lists_keys_and_descriptions() -> None:
    text = format_instruction(Reasoned)
    assert 'these keys: "thinking", "answer"' in text
    assert "The final answer only." in text
    with_system = with_instruction([{"role": "system", "content": "Be brief."}, *USER], "X")
    assert with_system[0]["content"] == "Be brief.\n\nX" and len(with_system) == 2
    without = with_instruction(USER, "X")
    assert without[0] == {"role": "system", "content": "X"} and without[1:] == USER


async def test_complete_fields_end_to_end(
    server: FakeOpenAIServer, client: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server)
    result = await client.complete_fields(USER, model, NAMES)
    assert result.fields == {"thinking": "I thought about it step by step.", "answer": "fake"}
    assert result.parse_error is None
    body = server.requests[-1]
    assert body["response_format"] == {"type": "json_object"}
    assert 'these keys: "thinking", "answer"' in body["messages"][0]["content"]


async def test_complete_fields_with_a_model_class(
    server: FakeOpenAIServer, client: LLMClient, fast_config: ConfigFactory
) -> None:
    server.add_rule(lambda body: True, '```json\n{"answer": 4, "thinking": "sum"}\n```')
    result = await client.complete_fields(USER, fast_config(server), Reasoned)
    assert result.fields == {"thinking": "sum", "answer": "4"}
    assert Reasoned(**result.fields).answer == "4"


async def test_strict_raises_with_raw_text(
    server: FakeOpenAIServer, uncached: LLMClient, fast_config: ConfigFactory
) -> None:
    server.add_rule(lambda body: True, "no json here")
    with pytest.raises(StructuredOutputError) as info:
        await uncached.complete_fields(USER, fast_config(server), NAMES)
    assert info.value.raw == "no json here"
    lenient = await uncached.complete_fields(USER, fast_config(server), NAMES, strict=False)
    assert lenient.fields == {"thinking": "", "answer": ""}
    assert lenient.parse_error and lenient.completion.text == "no json here"


async def test_json_mode_refused_falls_back_once_and_is_remembered(
    server: FakeOpenAIServer, fast_config: ConfigFactory
) -> None:
    client = LLMClient(cache=False)
    model: ModelConfig = fast_config(server)
    server.inject(Fault.status(400))
    first = await client.complete_fields(USER, model, NAMES)
    assert first.parse_error is None
    await client.complete_fields(USER, model, ["answer"])
    bodies = server.requests
    assert len(bodies) == 3
    assert "response_format" in bodies[0]
    assert "response_format" not in bodies[1] and "response_format" not in bodies[2]
    assert json.loads(json.dumps(bodies[2]["messages"]))[0]["role"] == "system"


def test_a_model_by_name_and_a_field_name_given_as_a_string(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "x")
        client = LLMClient(cache=False)
        try:
            # a name works where a ModelConfig does (it was an AttributeError)
            reply = client.complete_sync([{"role": "user", "content": "hi"}], "openai/fake")
            assert reply.model == "openai/fake" and len(server.requests) == 1
            # one field name as a string is refused, not split into the fields a, n, s, w, e, r
            with pytest.raises(
                TypeError, match=r"a list of names such as \['answer'\], not the string 'answer'"
            ):
                client.complete_fields_sync([{"role": "user", "content": "hi"}], "openai/fake", "answer")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="model must be a ModelConfig or a model name, not int"):
                client.complete_sync([{"role": "user", "content": "hi"}], 5)  # type: ignore[arg-type]
        finally:
            client.close()
