"""A scripted world for search tests: agents answer arithmetic through the fake server, and a scripted
meta agent answers proposals, reviews and fix requests by rules keyed on the prompt."""

from __future__ import annotations

import ast
import hashlib
import json
import operator
import re
import threading
from collections.abc import Callable
from typing import Any

from agentkit.testing import FakeReply, requested_fields
from agentkit.testing._replies import message_text

META_SYSTEM_MARK = "You are an inventor of LLM agents"
QUESTION = re.compile(r"Compute the value of this expression: ([0-9()+\-* ]+)")
MARKER = re.compile(r"\b([A-Z][A-Z0-9]{2,}):: ")


def agent_code(marker: str, *, extra: str = "") -> str:
    """An ADAS-style agent whose one model call carries `marker`, so the server knows who asks."""
    return (
        "def forward(self, taskInfo):\n"
        f"    agent = LLMAgentBase(['thinking', 'answer'], '{marker} agent')\n"
        f"{extra}"
        f"    thinking, answer = agent([taskInfo], '{marker}:: Compute the expression and give the integer.')\n"
        "    return answer\n"
    )


def broken_code(message: str) -> str:
    return (
        "def forward(self, taskInfo):\n"
        "    if taskInfo.content:\n"
        f"        raise ValueError('{message}')\n"
        "    return taskInfo.content\n"
    )


def hanging_code(variant: int = 0) -> str:
    return f"def forward(self, taskInfo):\n    n = {variant}\n    while n >= 0:\n        n += 1\n    return str(n)\n"


_OPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}


def evaluate_expression(text: str) -> int:
    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unexpected expression {text!r}")

    return walk(ast.parse(text.strip(), mode="eval"))


def all_text(body: dict[str, Any]) -> str:
    return "\n".join(message_text(m) for m in body.get("messages") or [])


def is_meta(body: dict[str, Any]) -> bool:
    return META_SYSTEM_MARK in all_text(body)


def stable_hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


class AgentWorld:
    """Answers agent requests: right or wrong by a fixed rule per marker and question."""

    def __init__(self, policies: dict[str, Callable[[str], bool]] | None = None) -> None:
        self.policies = policies or {}

    def correct(self, marker: str | None, question: str) -> bool:
        policy = self.policies.get(marker or "")
        if policy is not None:
            return policy(question)
        # Unmarked (seed) agents and unknown markers: right on about half, fixed per question.
        return stable_hash(f"{marker}|{question}") % 2 == 0

    def reply(self, body: dict[str, Any]) -> str:
        text = all_text(body)
        match = QUESTION.search(text)
        fields = requested_fields(body) or ["answer"]
        marker_match = MARKER.search(text)
        marker = marker_match.group(1) if marker_match else None
        if match is None:
            value = "0"
        else:
            right = evaluate_expression(match.group(1))
            value = str(right if self.correct(marker, match.group(1).strip()) else right + 1)
        return json.dumps({f: (value if "answer" in f.lower() else "Working it out.") for f in fields})


def marker(body: dict[str, Any]) -> str | None:
    """The marker of the agent that sent a request (None for seed agents)."""
    found = MARKER.search(all_text(body))
    return found.group(1) if found else None


def code_marker(code: str) -> str | None:
    """The marker an agent's code puts in its requests."""
    found = MARKER.search(code)
    return found.group(1) if found else None


def question_of(text: str) -> str:
    found = QUESTION.search(text)
    return found.group(1).strip() if found else ""


def question(body: dict[str, Any]) -> str:
    """The arithmetic expression a request asks about."""
    return question_of(all_text(body))


def last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def last_assistant(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "assistant":
            return message_text(message)
    return ""


def proposal(name: str, code: str, thought: str = "An idea.") -> str:
    return json.dumps({"thought": thought, "name": name, "code": code})


class ScriptedMeta:
    """The meta agent: `propose(n, body)` answers the n-th proposal (0-based); reviews return the code
    under review unchanged; `fix(body)` answers fix requests."""

    def __init__(
        self,
        propose: Callable[[int, dict[str, Any]], str],
        fix: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self._propose = propose
        self._fix = fix
        self._lock = threading.Lock()
        self.proposals = 0
        self.reviews = 0
        self.fixes: list[str] = []

    def reply(self, body: dict[str, Any]) -> str:
        user = last_user(body)
        if "Review the agent you just proposed" in user:
            with self._lock:
                self.reviews += 1
            previous = json.loads(last_assistant(body))
            return json.dumps({"reflection": "Checked names and the return value.", **previous})
        if "did not work" in user:
            with self._lock:
                self.fixes.append(user)
            if self._fix is None:
                return last_assistant(body)
            return self._fix(body)
        with self._lock:
            index = self.proposals
            self.proposals += 1
        return self._propose(index, body)


REFLECTION_MARK = "You review agents"
BUILDER_MARK = "A reflection on a newly evaluated agent"
RULE_TEXT = "Answers off by one stay unexplained; recompute the last step."


def reflection_reply(body: dict[str, Any]) -> str:
    """A well-formed reflection citing the first two questions it was shown."""
    shown = re.findall(r"## Question (\S+) \(", all_text(body))[:2]
    return json.dumps(
        {
            "outcome": "no_change",
            "fault": "agent",
            "first_wrong_step": "the final addition",
            "failure_pattern": "answers one more than the right value",
            "example_ids": shown,
            "contrast_agent": "",
            "lesson": "Recompute the last step before answering.",
        }
    )


def builder_reply(body: dict[str, Any]) -> str:
    """One `unresolved_error` rule (allowed for every outcome); a repeat is refused as a duplicate."""
    return json.dumps({"operations": [{"op": "write", "type": "unresolved_error", "text": RULE_TEXT}]})


def responder(
    world: AgentWorld, meta: ScriptedMeta, *, reflect: bool = False
) -> Callable[[dict[str, Any]], FakeReply]:
    """Meta requests to `meta`, the rest to `world`; with `reflect`, reflection and rule-builder
    requests get well-formed replies (otherwise the world's junk, which builds no rules)."""

    def respond(body: dict[str, Any]) -> FakeReply:
        if is_meta(body):
            return FakeReply(content=meta.reply(body))
        if reflect and REFLECTION_MARK in all_text(body):
            return FakeReply(content=reflection_reply(body))
        if reflect and BUILDER_MARK in all_text(body):
            return FakeReply(content=builder_reply(body))
        return FakeReply(content=world.reply(body))

    return respond


def hashed_meta_reply(body: dict[str, Any]) -> str:
    """A proposal that is a pure function of the prompt: resumed runs get the same reply again."""
    user = last_user(body)
    marker = "M" + hashlib.sha256(user.encode()).hexdigest()[:8].upper()
    if "did not work" in user:
        marker = "F" + marker[1:]
    return proposal(f"Agent {marker}", agent_code(marker), thought=f"Design {marker}.")
