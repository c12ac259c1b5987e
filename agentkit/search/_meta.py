"""Talking to the meta agent: propose an agent, review it, fix it after an error.

Every reply is parsed tolerantly; a reply without usable code is not an exception here but a
`Proposal` with `problem` set, so the caller can record it and ask again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentkit._resources import read_prompt, render
from agentkit.errors import ProviderError
from agentkit.records import clip

if TYPE_CHECKING:
    from agentkit.llm import LLMClient, ModelConfig

PROPOSAL_FIELDS = ["thought", "name", "code"]
REVIEW_FIELDS = ["reflection", "thought", "name", "code"]
_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
_BARE_FORWARD = re.compile(r"^def forward\(.*", re.DOTALL | re.MULTILINE)


@dataclass
class Proposal:
    """One version of a candidate agent as the meta agent wrote it."""

    thought: str
    name: str
    code: str
    raw: str
    """The meta agent's reply text, as received."""
    problem: str | None = None
    """Why the reply gave no usable code (None when it did)."""
    reflection: str = ""
    """What a review round said it checked and changed."""

    def as_reply(self) -> str:
        """The proposal as a clean JSON reply, for the conversation history."""
        return json.dumps({"thought": self.thought, "name": self.name, "code": self.code}, ensure_ascii=False)


def extract_code(text: str) -> str:
    """The Python source in a code field: fences removed, or the first fenced block if there is one."""
    text = text.strip()
    match = _FENCE.search(text)
    if match:
        return match.group(1).strip("\n")
    return text


def _proposal(fields: dict[str, str], raw: str, parse_error: str | None, fallback_name: str) -> Proposal:
    code = extract_code(fields.get("code", ""))
    if not code:
        # A model that ignores JSON may still have written a program, fenced or bare.
        if _FENCE.search(raw):
            code = extract_code(raw)
        elif bare := _BARE_FORWARD.search(raw):
            code = bare.group(0).strip()
    problem = None
    if not code:
        problem = "the reply contained no code" + (f" ({parse_error})" if parse_error else "")
    name = " ".join(fields.get("name", "").split())[:80] or fallback_name
    return Proposal(
        thought=fields.get("thought", "").strip(),
        name=name,
        code=code,
        raw=raw,
        problem=problem,
        reflection=fields.get("reflection", "").strip(),
    )


class MetaAgent:
    """The model that writes agents, with the conversation moves the search needs."""

    def __init__(
        self,
        client: LLMClient,
        model: ModelConfig,
        *,
        temperature: float,
        max_tokens: int,
    ) -> None:
        self.client = client
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens

    async def _ask(
        self, messages: list[dict[str, str]], fields: list[str], *, sample_index: int, fallback_name: str
    ) -> Proposal:
        try:
            result = await self.client.complete_fields(
                messages,
                self.model,
                fields,
                role="meta",
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                sample_index=sample_index,
                strict=False,
            )
        except ProviderError as exc:
            # Retries are spent; this candidate fails (and is recorded), the search goes on.
            return Proposal(
                thought="",
                name=fallback_name,
                code="",
                raw="",
                problem=f"the meta agent's model call failed: {exc}",
            )
        return _proposal(result.fields, result.completion.text, result.parse_error, fallback_name)

    async def propose(
        self, messages: list[dict[str, str]], *, sample_index: int, fallback_name: str
    ) -> Proposal:
        """Ask for a new agent with the prompt `messages` (system + user)."""
        return await self._ask(
            messages, PROPOSAL_FIELDS, sample_index=sample_index, fallback_name=fallback_name
        )

    async def review(
        self,
        messages: list[dict[str, str]],
        current: Proposal,
        *,
        round: int,
        rounds: int,
        sample_index: int,
    ) -> tuple[Proposal, list[dict[str, str]]]:
        """One self-review round of `current`; returns the revised proposal and the messages sent."""
        sent = [
            *messages,
            {"role": "assistant", "content": current.as_reply()},
            {
                "role": "user",
                "content": render(read_prompt("meta_review.md"), {"round": round, "rounds": rounds}),
            },
        ]
        revised = await self._ask(sent, REVIEW_FIELDS, sample_index=sample_index, fallback_name=current.name)
        return revised, sent

    async def fix(
        self,
        messages: list[dict[str, str]],
        current: Proposal,
        error: str,
        *,
        attempt: int,
        attempts: int,
        sample_index: int,
    ) -> tuple[Proposal, list[dict[str, str]]]:
        """Show the meta agent what went wrong with `current` and ask for a corrected version."""
        shown = current.as_reply() if current.code else clip(current.raw, 3000) or "(empty reply)"
        sent = [
            *messages,
            {"role": "assistant", "content": shown},
            {
                "role": "user",
                "content": render(
                    read_prompt("meta_debug.md"),
                    {"name": current.name, "error": error, "attempt": attempt, "attempts": attempts},
                ),
            },
        ]
        fixed = await self._ask(sent, PROPOSAL_FIELDS, sample_index=sample_index, fallback_name=current.name)
        return fixed, sent
