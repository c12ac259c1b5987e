"""The host's check of a model request coming out of the sandbox, before it reaches the LLM client.

Agent code can write any JSON into its pipe, so a request is rebuilt from the fields the runtime sends
(see `agentkit.runtime.LLMBackend`), each of the expected type and size. Nothing else gets through: no
extra message keys (tool calls, image URLs that a provider adapter would fetch from the host's
network), no roles but system/user/assistant, no nesting deep enough to break a JSON parser.
"""

from __future__ import annotations

import math
from typing import Any

ROLES = frozenset({"system", "user", "assistant"})
MAX_MESSAGES = 1000
MAX_FIELDS = 100
MAX_AGENT_NAME = 200
MAX_SAMPLE_INDEX = 1_000_000
MAX_TEMPERATURE = 2.0


class BadRequest(ValueError):
    """A model request from agent code that is not of the runtime's shape or is too large."""


def clean_request(request: Any, *, max_chars: int) -> dict[str, Any]:
    """The request rebuilt from its expected fields; BadRequest when it is malformed or too large."""
    if not isinstance(request, dict):
        raise BadRequest("malformed LLM request: not an object")
    messages = request.get("messages")
    if not isinstance(messages, list) or not 0 < len(messages) <= MAX_MESSAGES:
        raise BadRequest(f"malformed LLM request: 'messages' must be a list of 1 to {MAX_MESSAGES} messages")
    total = 0
    clean: dict[str, Any] = {"messages": []}
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role not in ROLES or not isinstance(content, str):
            raise BadRequest(
                "malformed LLM request: each message must be {'role': 'system'|'user'|'assistant', "
                "'content': str}"
            )
        total += len(content)
        clean["messages"].append({"role": role, "content": content})
    fields = request.get("fields")
    if fields is not None:
        if (
            not isinstance(fields, list)
            or not len(fields) <= MAX_FIELDS
            or not all(isinstance(f, str) and f for f in fields)
        ):
            # An empty list is legal: ADAS's LLMAgentBase([], ...) asks for no field.
            raise BadRequest(f"malformed LLM request: 'fields' must be a list of 0 to {MAX_FIELDS} names")
        total += sum(len(f) for f in fields)
        clean["fields"] = list(fields)
    if total > max_chars:
        raise BadRequest(f"the LLM request has {total} characters, over the limit of {max_chars}")
    temperature = request.get("temperature")
    if (
        isinstance(temperature, int | float)
        and not isinstance(temperature, bool)
        and math.isfinite(temperature)
    ):
        clean["temperature"] = min(max(float(temperature), 0.0), MAX_TEMPERATURE)
    name = request.get("agent_name")
    if isinstance(name, str):
        clean["agent_name"] = name[:MAX_AGENT_NAME]
    index = request.get("sample_index")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index <= MAX_SAMPLE_INDEX:
        clean["sample_index"] = index
    return clean
