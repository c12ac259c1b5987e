"""The manual builder: after each reflection the model proposes rule operations as JSON, and code decides
which of them may happen. The checks do not depend on the model:

- a failure (regressed, no_change, crashed) may only write ``unresolved_error`` rules or update existing
  ones (an update may not turn a rule into another type than a write could create);
- a ``success_pattern`` needs a child that beat its parent beyond noise (outcome ``improved``);
- every write and update carries an evidence row built by code for the candidate (agent, generation,
  score change, example ids it was really scored on, reflection id); extra evidence the model cites is
  kept only when its agent exists and its examples are ones that agent was scored on;
- ids must name existing, non-retired rules; text must be non-empty and short; at most
  `max_ops_per_reflection` operations and `max_retires_per_reflection` retirements per reflection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from agentkit._resources import read_prompt, render
from agentkit.archive import RuleEvidence, RuleRecord, RuleType
from agentkit.archive._models import RULE_TYPES
from agentkit.errors import ArchiveError, BudgetExceeded, LLMError
from agentkit.records import clip
from agentkit.reflect._outcome import FAILURES, OutcomeVerdict, mean_change
from agentkit.reflect._text import id_list, json_value

if TYPE_CHECKING:
    from agentkit.archive import Archive, ReflectionRecord
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.reflect._config import ReflectConfig

OpKind = Literal["write", "update", "retire"]


class RuleOp(BaseModel):
    """One accepted builder operation, ready to apply."""

    op: OpKind
    """write, update or retire."""
    rule_id: str | None = None
    """The rule updated or retired (None for a write)."""
    type: RuleType | None = None
    """Type of a written rule, or a new type for an update."""
    scope: str | None = None
    """When the rule applies."""
    text: str | None = None
    """The rule text (new wording for an update)."""
    example: str | None = None
    """An illustration."""
    evidence: list[RuleEvidence] = Field(default_factory=list)
    """Evidence rows to store (built and verified by code)."""
    reason: str = ""
    """Why a rule is retired."""


class Rejection(BaseModel):
    """An operation (or part of one) that code refused, and why."""

    op: Any
    """What the model proposed."""
    reason: str
    """Which rule it broke."""


class CheckedOps(BaseModel):
    """The outcome of checking a builder reply."""

    accepted: list[RuleOp] = Field(default_factory=list)
    """Operations that passed every check."""
    rejected: list[Rejection] = Field(default_factory=list)
    """Operations or evidence rows refused, with reasons."""


class ArchiveFacts:
    """What the checks verify against the archive: which agents exist, which examples each was scored
    on, their generation and score change against the main parent (looked up once each)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._examples: dict[str, set[str] | None] = {}

    def example_ids(self, agent_id: str) -> set[str] | None:
        """Examples `agent_id` has search results for; None when no such agent exists."""
        if agent_id not in self._examples:
            try:
                self.archive.agent(agent_id)
            except ArchiveError:
                self._examples[agent_id] = None
            else:
                self._examples[agent_id] = {r.example_id for r in self.archive.results(agent_id, "search")}
        return self._examples[agent_id]

    def generation(self, agent_id: str) -> int:
        """The agent's generation."""
        return self.archive.agent(agent_id).generation

    def score_change(self, agent_id: str) -> float | None:
        """Mean score change against the main parent on shared search examples, None without one."""
        agent = self.archive.agent(agent_id)
        if not agent.parents:
            return None
        matrix = self.archive.correctness_matrix("search", agent_ids=[agent_id, agent.parents[0]])
        change = mean_change(matrix.get(agent_id, {}), matrix.get(agent.parents[0], {}))
        return None if change is None else change[0]


def parse_operations(text: str) -> list[Any] | None:
    """The operation list in a builder reply (a JSON object with "operations", or a bare list), or None
    when none can be found."""
    from agentkit.llm import parse_fields

    value: Any = json_value(text)
    if isinstance(value, dict):
        value = value.get("operations", value.get("ops"))
    if isinstance(value, list):
        return value
    parsed = parse_fields(text, ["operations"])
    if parsed.missing:
        return None
    ops = json_value(parsed.fields["operations"])
    return ops if isinstance(ops, list) else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _type_problem(rule_type: str, verdict: OutcomeVerdict) -> str | None:
    if rule_type not in RULE_TYPES:
        return f"unknown rule type {rule_type!r}"
    if verdict.outcome in FAILURES and rule_type != "unresolved_error":
        return f"a {verdict.outcome} candidate may only add unresolved_error rules (or update rules), not {rule_type}"
    if rule_type == "success_pattern" and verdict.outcome != "improved":
        return "a success_pattern needs a child that beat its parent beyond noise"
    return None


def check_operations(
    raw_ops: Sequence[Any] | None,
    *,
    verdict: OutcomeVerdict,
    candidate_id: str,
    generation: int,
    reflection: ReflectionRecord | None,
    rules: Sequence[RuleRecord],
    facts: ArchiveFacts,
    config: ReflectConfig,
) -> CheckedOps:
    """Check the model's operations against the rules in the module docstring; never raises."""
    out = CheckedOps()
    if raw_ops is None:
        return out
    by_id = {r.id: r for r in rules}
    live_texts = {" ".join(r.text.lower().split()) for r in rules if r.status != "retired"}
    own = facts.example_ids(candidate_id) or set()
    shown = list(reflection.payload.get("example_ids", [])) if reflection is not None else []
    retires = 0
    touched: set[str] = set()
    for index, item in enumerate(raw_ops):
        if index >= config.max_ops_per_reflection:
            out.rejected.append(
                Rejection(op=item, reason=f"more than {config.max_ops_per_reflection} operations")
            )
            continue
        if not isinstance(item, dict):
            out.rejected.append(Rejection(op=item, reason="an operation must be a JSON object"))
            continue
        kind = _text(item.get("op") or item.get("operation") or item.get("action")).lower()
        rule_id = _text(item.get("rule_id") or item.get("id"))
        if kind not in ("write", "update", "retire"):
            out.rejected.append(Rejection(op=item, reason=f"unknown operation {kind!r}"))
            continue
        if kind in ("update", "retire"):
            rule = by_id.get(rule_id)
            if rule is None:
                out.rejected.append(Rejection(op=item, reason=f"no rule {rule_id!r}"))
                continue
            if rule.status == "retired":
                out.rejected.append(Rejection(op=item, reason=f"rule {rule_id} is retired"))
                continue
            if rule_id in touched:
                out.rejected.append(
                    Rejection(op=item, reason=f"rule {rule_id} was already changed by this reply")
                )
                continue
        if kind == "retire":
            if retires >= config.max_retires_per_reflection:
                out.rejected.append(
                    Rejection(op=item, reason=f"more than {config.max_retires_per_reflection} retirements")
                )
                continue
            retires += 1
            touched.add(rule_id)
            reason = _text(item.get("reason")) or "retired by the builder"
            out.accepted.append(RuleOp(op="retire", rule_id=rule_id, reason=clip(reason, 300)))
            continue
        text = _text(item.get("text"))
        rule_type = _text(item.get("type")).lower() or None
        if kind == "write" and not text:
            out.rejected.append(Rejection(op=item, reason="a rule needs a text"))
            continue
        if len(text) > config.rule_text_chars:
            out.rejected.append(
                Rejection(op=item, reason=f"rule text longer than {config.rule_text_chars} characters")
            )
            continue
        if kind == "write" or (rule_type is not None and rule_type != by_id[rule_id].type):
            problem = _type_problem(rule_type or "", verdict)
            if problem is not None:
                out.rejected.append(Rejection(op=item, reason=problem))
                continue
        if kind == "write" and " ".join(text.lower().split()) in live_texts:
            out.rejected.append(
                Rejection(op=item, reason="the manual already has this rule; update it instead")
            )
            continue
        cited = [e for e in id_list(item.get("example_ids", [])) if e in own]
        note = _text(item.get("note")) or (
            str(reflection.payload.get("failure_pattern", "")) if reflection is not None else ""
        )
        evidence = [
            RuleEvidence(
                agent_id=candidate_id,
                generation=generation,
                score_change=verdict.score_change,
                example_ids=cited or [e for e in shown if e in own],
                reflection_id=reflection.id if reflection is not None else None,
                note=clip(note, 300),
            )
        ]
        extra = item.get("evidence") or []
        for row in extra if isinstance(extra, list) else [extra]:
            row_ok = _extra_evidence(row, candidate_id, facts)
            if isinstance(row_ok, str):
                out.rejected.append(Rejection(op=row, reason=row_ok))
            else:
                evidence.append(row_ok)
        if rule_id:
            touched.add(rule_id)
        if kind == "write":
            live_texts.add(" ".join(text.lower().split()))
        out.accepted.append(
            RuleOp(
                op=kind,
                rule_id=rule_id or None,
                type=rule_type,
                scope=clip(_text(item.get("scope")), 300) or None,
                text=text or None,
                example=clip(_text(item.get("example")), 400) or None,
                evidence=evidence,
            )
        )
    return out


def _extra_evidence(row: Any, candidate_id: str, facts: ArchiveFacts) -> RuleEvidence | str:
    """A verified evidence row the model cited, or why it was refused."""
    if not isinstance(row, dict):
        return "an evidence row must be a JSON object"
    agent_id = _text(row.get("agent_id") or row.get("agent"))
    if agent_id == candidate_id:
        return "evidence of the candidate itself is added by code"
    known = facts.example_ids(agent_id)
    if known is None:
        return f"evidence cites agent {agent_id!r}, which is not in the archive"
    given = id_list(row.get("example_ids", []))
    valid = [e for e in given if e in known]
    if given and not valid:
        return f"evidence cites examples {given[:5]} that agent {agent_id} was not scored on"
    return RuleEvidence(
        agent_id=agent_id,
        generation=facts.generation(agent_id),
        score_change=facts.score_change(agent_id),
        example_ids=valid,
        note=clip(_text(row.get("note")), 300),
    )


def apply_operations(archive: Archive, ops: Sequence[RuleOp], generation: int) -> list[str]:
    """Apply checked operations in one transaction; returns the ids of the rules written or changed.
    New rules start as candidates and become active at the end of the generation."""
    changed: list[str] = []
    with archive.transaction():
        for op in ops:
            if op.op == "write":
                assert op.type is not None and op.text is not None
                rule = archive.add_rule(
                    op.type,
                    op.text,
                    generation=generation,
                    scope=op.scope or "",
                    example=op.example or "",
                    status="candidate",
                    evidence=op.evidence,
                )
                changed.append(rule.id)
            elif op.op == "update":
                assert op.rule_id is not None
                archive.update_rule(
                    op.rule_id,
                    generation=generation,
                    text=op.text,
                    scope=op.scope,
                    example=op.example,
                    type=op.type,
                    add_evidence=op.evidence,
                )
                changed.append(op.rule_id)
            else:
                assert op.rule_id is not None
                archive.set_rule_status(op.rule_id, "retired", generation=generation, reason=op.reason)
                changed.append(op.rule_id)
    return changed


def _rules_text(rules: Sequence[RuleRecord]) -> str:
    live = [r for r in rules if r.status != "retired"]
    if not live:
        return "(no rules yet)"
    lines = []
    for r in live:
        scope = f" (when: {r.scope})" if r.scope else ""
        lines.append(f"- {r.id} [{r.type}, {r.status}, {len(r.evidence)} evidence]{scope}: {r.text}")
    return "\n".join(lines)


def _allowed_text(verdict: OutcomeVerdict) -> str:
    if verdict.outcome in FAILURES:
        return (
            f"This agent's outcome is {verdict.outcome}: you may write only unresolved_error rules, "
            "or update or retire existing rules."
        )
    return "This agent improved on its parent beyond noise: any rule type may be written."


class ManualBuilder:
    """Runs the builder step after a reflection: asks the model, checks its operations, applies them."""

    def __init__(
        self, archive: Archive, client: LLMClient, model: ModelConfig, config: ReflectConfig
    ) -> None:
        self.archive = archive
        self.client = client
        self.model = model
        self.config = config

    def messages(
        self, reflection: ReflectionRecord, verdict: OutcomeVerdict, rules: Sequence[RuleRecord]
    ) -> list[dict[str, str]]:
        """The builder prompt."""
        shown = {k: v for k, v in reflection.payload.items() if k not in ("raw", "examples_shown", "verdict")}
        user = render(
            read_prompt("reflect_builder.md"),
            {
                "agent_id": reflection.agent_id,
                "generation": reflection.generation,
                "verdict": verdict.describe(),
                "reflection": json.dumps(shown, indent=1, ensure_ascii=False, default=str),
                "rules": _rules_text(rules),
                "max_ops": self.config.max_ops_per_reflection,
                "text_chars": self.config.rule_text_chars,
                "allowed": _allowed_text(verdict),
            },
        )
        return [{"role": "user", "content": user}]

    async def step(self, reflection: ReflectionRecord, verdict: OutcomeVerdict) -> CheckedOps:
        """Propose, check and apply operations for one reflection; logs a ``rule_ops`` event. A failed
        call or a reply without operations changes nothing; only a budget stop is raised."""
        rules = self.archive.rules()
        raw = ""
        error: str | None = None
        try:
            reply = await self.client.complete(
                self.messages(reflection, verdict, rules),
                self.model,
                role="reflect",
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
                json_mode=True,
            )
            raw = reply.text
        except BudgetExceeded:
            raise
        except LLMError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ops = parse_operations(raw) if error is None else None
        if ops is None and error is None:
            error = "no operation list in the reply"
        checked = check_operations(
            ops,
            verdict=verdict,
            candidate_id=reflection.agent_id,
            generation=reflection.generation,
            reflection=reflection,
            rules=rules,
            facts=ArchiveFacts(self.archive),
            config=self.config,
        )
        # The changes and their log entry commit together: the entry is how a resumed run knows that
        # this reflection's step is done, so it never applies the same operations twice.
        with self.archive.transaction():
            changed = apply_operations(self.archive, checked.accepted, reflection.generation)
            payload: dict[str, Any] = {
                "agent": reflection.agent_id,
                "reflection": reflection.id,
                "outcome": verdict.outcome,
                "accepted": [op.model_dump(mode="json", exclude_none=True) for op in checked.accepted],
                "rejected": [r.model_dump(mode="json") for r in checked.rejected],
                "rules": changed,
            }
            if error is not None:
                payload["error"] = error
                payload["raw"] = clip(raw, 2000)
            self.archive.log_event("rule_ops", payload, generation=reflection.generation)
        return checked

    def done(self, reflection: ReflectionRecord) -> bool:
        """Whether the builder step of `reflection` has already run (a resumed run skips it)."""
        return any(
            e.payload.get("reflection") == reflection.id
            for e in self.archive.events("rule_ops", generation=reflection.generation)
        )
