"""Talking to the meta agent: propose an agent, review it, fix it after an error.

A proposal comes in one of two forms: free agent code (``code``, ADAS-style) or a typed workflow spec
(``workflow``, see `agentkit.workflow`), which the candidate lifecycle renders to code. For the embedded
model a workflow reply is constrained by a JSON-schema grammar, so it always parses.

Every reply is parsed tolerantly; a reply without usable code or spec is not an exception here but a
`Proposal` with `problem` set, so the caller can record it and ask again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from agentkit._resources import read_prompt, render
from agentkit.errors import ProviderError
from agentkit.records import clip

if TYPE_CHECKING:
    from agentkit.llm import LLMClient, ModelConfig

ProposalForm = Literal["code", "workflow"]
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
    form: ProposalForm = "code"
    """Whether the meta agent was asked for code or for a workflow (a failed reply keeps its form)."""
    workflow: dict[str, Any] | None = None
    """The workflow spec (``{thought, name, steps}``) when the proposal is a workflow; `code` is then
    rendered from it by the caller."""

    def as_reply(self) -> str:
        """The proposal as a clean JSON reply, for the conversation history."""
        if self.form == "workflow":
            steps = (self.workflow or {}).get("steps", [])
            return json.dumps(
                {"thought": self.thought, "name": self.name, "steps": steps}, ensure_ascii=False
            )
        return json.dumps({"thought": self.thought, "name": self.name, "code": self.code}, ensure_ascii=False)


@dataclass(frozen=True)
class ReplyShape:
    """What the meta agent is asked to reply with for one slot: agent code, or a workflow that may call
    the archive agents `agent_ids` and starts with operator `first` (when given)."""

    form: ProposalForm = "code"
    agent_ids: tuple[str, ...] = ()
    first: str | None = None


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


def _json_object(text: str) -> Any:
    """The JSON object in a reply: the whole text, or the outermost {...} when a model wrapped it.
    Raw line breaks and tabs inside strings are accepted: llama.cpp's JSON grammar lets a model write
    them, and they mean what they say."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise
        return json.loads(text[start : end + 1], strict=False)


def _workflow_proposal(raw: str, fallback_name: str) -> Proposal:
    from agentkit.workflow import WorkflowProblem, parse_workflow

    try:
        data = _json_object(raw)
    except ValueError as exc:
        problem = f"the reply is not a JSON workflow: {exc}"
        return Proposal("", fallback_name, "", raw, problem=problem, form="workflow")
    if not isinstance(data, dict):
        return Proposal(
            "", fallback_name, "", raw, problem="the reply must be a JSON object", form="workflow"
        )
    reflection = str(data.pop("reflection", "") or "")
    name = " ".join(str(data.get("name") or "").split())[:80] or fallback_name
    thought = str(data.get("thought") or "").strip()
    data["name"] = name
    try:
        spec = parse_workflow(data)
    except WorkflowProblem as exc:
        problem = "The workflow is not valid:\n" + "\n".join(f"- {p}" for p in exc.problems)
        return Proposal(
            thought, name, "", raw, problem=problem, reflection=reflection, form="workflow", workflow=data
        )
    spec_data = spec.model_dump(mode="json")
    return Proposal(thought, name, "", raw, reflection=reflection, form="workflow", workflow=spec_data)


class MetaAgent:
    """The model that writes agents, with the conversation moves the search needs."""

    def __init__(
        self,
        client: LLMClient,
        model: ModelConfig,
        *,
        temperature: float,
        max_tokens: int,
        workflow_max_calls: int | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.workflow_max_calls = workflow_max_calls

    async def _ask(
        self,
        messages: list[dict[str, str]],
        fields: list[str],
        *,
        sample_index: int,
        fallback_name: str,
        shape: ReplyShape,
    ) -> Proposal:
        try:
            if shape.form == "workflow":
                return await self._ask_workflow(
                    messages, sample_index, fallback_name, shape, review="reflection" in fields
                )
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

    async def _ask_workflow(
        self,
        messages: list[dict[str, str]],
        sample_index: int,
        fallback_name: str,
        shape: ReplyShape,
        *,
        review: bool,
    ) -> Proposal:
        from agentkit.workflow import workflow_schema

        completion = await self.client.complete(
            messages,
            self.model,
            role="meta",
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            json_mode=True,
            sample_index=sample_index,
            # Enforced as a grammar by the embedded model (every reply parses); other servers get JSON
            # mode and the operator reference in the prompt.
            json_schema=workflow_schema(
                list(shape.agent_ids), max_calls=self.workflow_max_calls, reflection=review, first=shape.first
            ),
        )
        return _workflow_proposal(completion.text, fallback_name)

    async def propose(
        self,
        messages: list[dict[str, str]],
        *,
        sample_index: int,
        fallback_name: str,
        shape: ReplyShape = ReplyShape(),
    ) -> Proposal:
        """Ask for a new agent, shaped as `shape` says, with the prompt `messages` (system + user)."""
        return await self._ask(
            messages, PROPOSAL_FIELDS, sample_index=sample_index, fallback_name=fallback_name, shape=shape
        )

    async def review(
        self,
        messages: list[dict[str, str]],
        current: Proposal,
        *,
        round: int,
        rounds: int,
        sample_index: int,
        shape: ReplyShape = ReplyShape(),
    ) -> tuple[Proposal, list[dict[str, str]]]:
        """One self-review round of `current` (in its own form, with no operator it must start with);
        returns the revised proposal and the messages sent."""
        form = current.form
        template = "meta_review_workflow.md" if form == "workflow" else "meta_review.md"
        sent = [
            *messages,
            {"role": "assistant", "content": current.as_reply()},
            {"role": "user", "content": render(read_prompt(template), {"round": round, "rounds": rounds})},
        ]
        revised = await self._ask(
            sent,
            REVIEW_FIELDS,
            sample_index=sample_index,
            fallback_name=current.name,
            shape=replace(shape, form=form, first=None),
        )
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
        shape: ReplyShape = ReplyShape(),
    ) -> tuple[Proposal, list[dict[str, str]]]:
        """Show the meta agent what went wrong with `current` and ask for a corrected version (in the
        form of `current`)."""
        form = current.form
        usable = current.workflow is not None or current.code
        shown = current.as_reply() if usable else clip(current.raw, 3000) or "(empty reply)"
        template = "meta_debug_workflow.md" if form == "workflow" else "meta_debug.md"
        sent = [
            *messages,
            {"role": "assistant", "content": shown},
            {
                "role": "user",
                "content": render(
                    read_prompt(template),
                    {"name": current.name, "error": error, "attempt": attempt, "attempts": attempts},
                ),
            },
        ]
        fixed = await self._ask(
            sent,
            PROPOSAL_FIELDS,
            sample_index=sample_index,
            fallback_name=current.name,
            shape=replace(shape, form=form),
        )
        return fixed, sent
