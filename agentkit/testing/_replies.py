"""What the fake model servers answer: replies, faults, and the default responder.

Shared by the HTTP fake (`FakeOpenAIServer`) and the in-process test double (`ScriptedLLM`), so a
responder written for one works with the other. Nothing here imports litellm or aiohttp.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class FakeReply(BaseModel):
    """One scripted answer of a fake model, with optional overrides of what the server reports."""

    content: str
    """The text of `choices[0].message.content`."""
    prompt_tokens: int | None = None
    """Prompt tokens to report; None = a rough word count of the request's messages."""
    completion_tokens: int | None = None
    """Completion tokens to report; None = a rough word count of `content`."""
    latency_s: float | None = None
    """Seconds to wait before answering, instead of the server's latency and jitter; None = server's."""
    finish_reason: str = "stop"
    """The `finish_reason` to report (e.g. "length" to simulate a truncated reply)."""


Reply = str | FakeReply
"""What a responder or a rule may produce."""

Responder = Callable[[dict[str, Any]], Reply | None]
"""Maps a request body (the chat-completions JSON) to a reply; None = "not mine, ask the default"."""

FaultKind = Literal["status", "hang", "disconnect", "malformed_json"]


class Fault(BaseModel):
    """A failure the fake server plays instead of (or before) one normal reply.

    Build them with the class methods: `Fault.status(429, retry_after=1.0)`, `Fault.status(500)`,
    `Fault.hang(5.0)`, `Fault.disconnect()`, `Fault.malformed_json()`.
    """

    model_config = ConfigDict(frozen=True)

    kind: FaultKind
    """Which failure to play."""
    status_code: int = 200
    """HTTP status sent by a "status" fault."""
    retry_after: float | None = None
    """Seconds sent in the Retry-After header of a "status" fault; None = no header."""
    retry_after_date: bool = False
    """Send Retry-After as an HTTP date (`retry_after` seconds from now, whole seconds) instead of
    seconds, and no ``retry-after-ms``."""
    seconds: float = 0.0
    """How long a "hang" fault waits before it answers normally."""

    @classmethod
    def status(cls, code: int, retry_after: float | None = None, *, as_date: bool = False) -> Fault:
        """Answer with HTTP `code` and an OpenAI-style error body (plus Retry-After when given: in
        seconds and as ``retry-after-ms``, or with `as_date` as an HTTP date only)."""
        return cls(kind="status", status_code=code, retry_after=retry_after, retry_after_date=as_date)

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Wait `seconds` and then answer normally, so that a shorter client timeout fires first."""
        return cls(kind="hang", seconds=seconds)

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls(kind="disconnect")

    @classmethod
    def malformed_json(cls) -> Fault:
        """Answer 200 with a JSON content type and a body that is not JSON."""
        return cls(kind="malformed_json")


def word_count(text: str) -> int:
    """Rough token count used when a reply does not set one: whitespace-separated words."""
    return len(text.split())


def message_text(message: dict[str, Any]) -> str:
    """The text of one chat message, also for the list-of-parts content form."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_word_count(request: dict[str, Any]) -> int:
    """Rough prompt token count of a request: the words of all its messages."""
    return sum(word_count(message_text(m)) for m in request.get("messages") or [])


# The runtime asks for fields with a sentence such as
#   Reply with a JSON object with exactly these keys: "thinking", "answer".
# so the keys are the quoted words on the rest of the line after "these keys".
_THESE_KEYS = re.compile(r"these keys\b(?P<rest>[^\n]*)", re.IGNORECASE)
_QUOTED = re.compile(r"\"([^\"\n]+)\"|'([^'\n]+)'")


def requested_fields(request: dict[str, Any]) -> list[str]:
    """The JSON keys a request asks for, or [] when it asks for none.

    Detection is deliberately simple: the messages are read from the last one backwards, and the
    first line containing the phrase "these keys" (any case) followed by quoted words decides; the
    keys are those words ('single' or "double" quotes), in order, without duplicates. A phrase with
    no quoted word after it on its line (a prompt listing the keys below it) is passed over.
    """
    for message in reversed(request.get("messages") or []):
        for match in _THESE_KEYS.finditer(message_text(message)):
            keys: list[str] = []
            for double, single in _QUOTED.findall(match.group("rest")):
                key = double or single
                if key not in keys:
                    keys.append(key)
            if keys:
                return keys
    return []


_FAKE_AGENT_CODE = """def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "Fake Agent")
    thinking, answer = agent([taskInfo], "Think step by step and then answer.")
    return answer
"""


def fake_field_value(key: str) -> str:
    """A plausible value for a requested key: "code" gets a minimal valid ADAS agent, "name" gets
    "Fake Agent", keys about reasoning (thought, thinking, reasoning, rationale) get a sentence,
    everything else (including "answer") gets "fake"."""
    lowered = key.lower()
    if lowered == "code":
        return _FAKE_AGENT_CODE
    if lowered == "name":
        return "Fake Agent"
    if any(word in lowered for word in ("thought", "thinking", "reasoning", "rationale")):
        return "I thought about it step by step."
    return "fake"


def default_responder(request: dict[str, Any]) -> str:
    """The reply used when nothing else answers: a JSON object with a plausible value for each
    requested key (see `requested_fields` and `fake_field_value`) when the prompt asks for keys,
    else "ok"."""
    fields = requested_fields(request)
    if not fields:
        return "ok"
    return json.dumps({key: fake_field_value(key) for key in fields})
