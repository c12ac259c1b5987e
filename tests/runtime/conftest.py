"""Test doubles for the runtime tests: a scripted LLM backend that records every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

Reply = Callable[[dict[str, Any]], dict[str, Any]]


def default_fields(request: dict[str, Any]) -> dict[str, str]:
    """Plausible values for whatever fields a request asks for; the answer to everything is 42."""
    values: dict[str, str] = {}
    for name in request["fields"]:
        if name == "code":
            values[name] = "```python\nanswer = 6 * 7\n```"
        elif name == "correct":
            values[name] = "False"
        elif name == "choice":
            values[name] = "The Mathematician."
        elif "answer" in name:
            values[name] = "42"
        else:
            values[name] = f"some {name}"
    return values


class ScriptedBackend:
    """An `LLMBackend` test double: answers each request with `reply(request)` (a response dict) or,
    by default, with `default_fields` as a well-formed response. Records requests; thread-safe."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        json.dumps(request)  # the request must survive the sandbox pipe
        with self._lock:
            self.requests.append(request)
        if self.reply is not None:
            return self.reply(request)
        fields = default_fields(request)
        return {"fields": fields, "raw": json.dumps(fields), "parse_error": None}

    def prompts(self) -> list[str]:
        """The user message of every request, in order."""
        return [r["messages"][-1]["content"] for r in self.requests]


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def scripted() -> type[ScriptedBackend]:
    return ScriptedBackend
