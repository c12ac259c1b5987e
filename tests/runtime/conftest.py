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


# An agent written the way ADAS agents are published: only Info, LLMAgentBase and taskInfo, a model
# name that must be ignored, imports inside forward, list concatenation, rounds and `.content` checks.
ADAS_STYLE_AGENT = """
def forward(self, taskInfo):
    from collections import Counter

    def majority_voting(answers):
        return Counter(answers).most_common(1)[0][0]

    cot_instruction = "Please think step by step and then solve the task."
    N = 3
    cot_agents = [LLMAgentBase(['thinking', 'answer'], 'Chain-of-Thought Agent', model='gpt-4o-2024', temperature=0.8) for _ in range(N)]
    possible_answers = []
    for i in range(N):
        thinking, answer = cot_agents[i]([taskInfo], cot_instruction)
        possible_answers.extend([thinking, answer])

    critic_agent = LLMAgentBase(['feedback', 'correct'], 'Critic Agent', role='strict math teacher')
    refine_agent = LLMAgentBase(['thinking', 'answer'], 'Refine Agent')
    thinking, answer = refine_agent([taskInfo] + possible_answers, "Combine the attempts above.")
    for i in range(2):
        feedback, correct = critic_agent([taskInfo, thinking, answer], "Is the answer correct? Reply True or False in correct.", i)
        if correct.content == 'True':
            break
        thinking, answer = refine_agent([taskInfo, thinking, answer, feedback], "Improve the answer.", i + 1)

    votes = [answer.content] + [info.content for info in possible_answers if info.name == 'answer']
    final = majority_voting(votes)
    return Info('answer', 'Final Decision Agent', final, -1)
"""


@pytest.fixture
def adas_style_agent() -> str:
    return ADAS_STYLE_AGENT
