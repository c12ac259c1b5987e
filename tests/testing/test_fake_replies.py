"""Field detection and the default responder."""

from __future__ import annotations

import json
from typing import Any

from agentkit.testing import Fault, default_responder, requested_fields


def request(*contents: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": c} for c in contents]}


def test_quoted_keys_after_these_keys_are_detected_in_order() -> None:
    prompt = 'Question?\nReply with a JSON object with exactly these keys: "thinking", "answer".'
    assert requested_fields(request(prompt)) == ["thinking", "answer"]


def test_single_quotes_duplicates_and_the_rest_of_the_line_only() -> None:
    prompt = "Use these keys: 'thought', 'name', 'code', 'name'.\nSay \"not a key\" here."
    assert requested_fields(request(prompt)) == ["thought", "name", "code"]


def test_the_newest_message_with_the_phrase_decides() -> None:
    old = 'Reply with these keys: "a".'
    new = 'Reply with these keys: "b", "c".'
    assert requested_fields(request(old, new, "no phrase here")) == ["b", "c"]


def test_list_of_parts_content_is_read() -> None:
    message = {"role": "user", "content": [{"type": "text", "text": 'these keys: "answer"'}]}
    assert requested_fields({"messages": [message]}) == ["answer"]


def test_no_phrase_means_plain_ok() -> None:
    assert requested_fields(request('Reply in JSON {"answer": 1}')) == []
    assert default_responder(request("hi")) == "ok"


def test_default_values_are_plausible() -> None:
    reply = json.loads(default_responder(request('these keys: "thought", "name", "code", "answer"')))
    assert reply["name"] == "Fake Agent"
    assert reply["answer"] == "fake"
    assert reply["thought"]
    compile(reply["code"], "<fake agent>", "exec")  # a valid agent for the meta-agent path
    assert "def forward(self, taskInfo)" in reply["code"]


def test_fault_constructors() -> None:
    assert Fault.status(429, retry_after=1.0) == Fault(kind="status", status_code=429, retry_after=1.0)
    assert Fault.hang(2.0).seconds == 2.0
    assert Fault.disconnect().kind == "disconnect"
    assert Fault.malformed_json().kind == "malformed_json"


def test_a_key_list_below_the_phrase_does_not_hide_the_instruction() -> None:
    from agentkit.testing import requested_fields

    request = {
        "messages": [
            {
                "role": "system",
                "content": 'You invent agents. Reply with exactly these keys: "thought", "name", "code".',
            },
            {
                "role": "user",
                "content": "Propose one.\nReply with a JSON object with these keys:\n- thought\n- code",
            },
        ]
    }
    assert requested_fields(request) == ["thought", "name", "code"]
