"""A simulated model for the performance benchmarks: right with a probability set by the prompt.

Benchmarks put generated arithmetic questions ("What is 17 + 25?") in the prompt, so the simulated
model can compute the right answer itself. Whether it answers right is a deterministic coin: a hash of
(prompt, sample) compared with an accuracy chosen by keywords found in the prompt. Different agents
(whose prompts contain different words) therefore really score differently, and repeated samples of the
same prompt are independent coins, so majority voting really helps.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from agentkit.testing._replies import (
    FakeReply,
    default_responder,
    fake_field_value,
    message_text,
    requested_fields,
)

_QUESTION = re.compile(r"What is (-?\d+) ?([+\-*x×]) ?(-?\d+)\s*\?", re.IGNORECASE)


def _solve(a: int, op: str, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    return a * b


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts`."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SimulatedModel:
    """A responder (for `FakeOpenAIServer` or `ScriptedLLM`) that answers arithmetic questions.

    - Question: the last "What is A + B?" (also "-", "*", "x") found in the messages, newest first.
    - Accuracy: the value of the first key of `strategies` (in insertion order) that occurs in the
      text of all messages (case-insensitive); `base_accuracy` when none does.
    - Coin: right when `hash(prompt, sample, seed) < accuracy`. `sample` counts how often this exact
      prompt was seen before, so repeated samples differ; at temperature 0 it is always 0, so the
      model is deterministic then, like a real one.
    - Wrong answers are the right one plus a hash-chosen offset in ±1..±10 (rarely the same twice).
    - Format: when the prompt asks for keys (see `requested_fields`), a JSON object whose keys
      containing "answer" hold the number and whose other keys hold `fake_field_value`; otherwise
      the bare number. Without a question it falls back to `default_responder`.
    - Tokens: every reply reports `completion_tokens`; prompt tokens are the server's word count
      unless `prompt_tokens` is set.
    """

    def __init__(
        self,
        strategies: Mapping[str, float] | None = None,
        *,
        base_accuracy: float = 0.5,
        completion_tokens: int = 50,
        prompt_tokens: int | None = None,
        seed: int = 0,
    ) -> None:
        self.strategies = dict(strategies or {})
        self.base_accuracy = base_accuracy
        self.completion_tokens = completion_tokens
        self.prompt_tokens = prompt_tokens
        self.seed = seed
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def accuracy_for(self, prompt: str) -> float:
        """The probability of a right answer for a prompt text."""
        lowered = prompt.lower()
        for keyword, accuracy in self.strategies.items():
            if keyword.lower() in lowered:
                return accuracy
        return self.base_accuracy

    def __call__(self, request: dict[str, Any]) -> FakeReply:
        texts = [message_text(m) for m in request.get("messages") or []]
        question = None
        for text in reversed(texts):
            found = _QUESTION.findall(text)
            if found:
                question = found[-1]
                break
        if question is None:
            return self._reply(default_responder(request))
        a, op, b = question
        right = _solve(int(a), op, int(b))
        prompt = "\n".join(texts)
        with self._lock:
            sample = self._seen.get(prompt, 0)
            self._seen[prompt] = sample + 1
        if request.get("temperature") == 0:
            sample = 0
        if _unit("coin", prompt, sample, self.seed) < self.accuracy_for(prompt):
            value = right
        else:
            offset = 1 + int(_unit("offset", prompt, sample, self.seed) * 10)
            value = right + (offset if _unit("sign", prompt, sample, self.seed) < 0.5 else -offset)
        fields = requested_fields(request)
        if not fields:
            return self._reply(str(value))
        answer = {k: (str(value) if "answer" in k.lower() else fake_field_value(k)) for k in fields}
        return self._reply(json.dumps(answer))

    def _reply(self, content: str) -> FakeReply:
        return FakeReply(
            content=content, completion_tokens=self.completion_tokens, prompt_tokens=self.prompt_tokens
        )
