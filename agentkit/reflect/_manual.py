"""The rule manual's life cycle: the formulator (active rules -> the text the meta agent reads), hiding
rules to measure their lift, retiring rules that do not help or went stale, and keeping the number of
active rules under the cap (consolidation by the model, checked by code, with a fallback).

Thresholds (all in `ReflectConfig`):
- hiding: each generation every active rule is hidden with probability `hide_share` (0.25), drawn from a
  generator seeded by (seed, generation, rule id), so a resumed run hides the same rules;
- lift: every candidate of the generation adds its paired gain over its main parent (on the same
  questions) to each rule's shown or hidden tally; a rule is retired only when the interval of its lift
  lies below zero (it hurts) or, after many candidates, tightly around zero (it is useless), never on a
  few samples: the measure and the rule are in `agentkit.reflect._lift`;
- staleness: an active ``unresolved_error`` rule not confirmed by new evidence for `stale_generations` (5)
  generations expires;
- cap: at most `rule_cap` (15) active rules; above it the model proposes merges, code accepts a merge only
  when it replaces two or more active rules, keeps one of their types and carries all their evidence, and
  then retires the least supported rules (fewest evidence rows, then lowest lift, then least recently
  confirmed) until the cap holds.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agentkit._resources import read_prompt, render
from agentkit.archive import RuleEvidence, RuleRecord, RuleType
from agentkit.errors import BudgetExceeded, LLMError
from agentkit.records import clip
from agentkit.reflect._text import id_list, json_value

if TYPE_CHECKING:
    from agentkit.archive import Archive
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.reflect._config import ReflectConfig

TYPE_ORDER: tuple[RuleType, ...] = (
    "strategy",
    "success_pattern",
    "mechanism",
    "helper",
    "corrected_error",
    "unresolved_error",
)
"""Order of the manual's sections."""

TYPE_HEADINGS: dict[str, str] = {
    "strategy": "Strategies: which approach suits which questions",
    "success_pattern": "Designs that beat their parents",
    "mechanism": "How the building blocks behave",
    "helper": "Useful pieces",
    "corrected_error": "Mistakes and their fixes",
    "unresolved_error": "Open problems: mistakes no agent has fixed yet",
}


class Formulated(BaseModel):
    """A compiled manual and the rules it holds."""

    text: str
    """The manual as the meta agent reads it ("" when there are no rules)."""
    included: list[str] = Field(default_factory=list)
    """Ids of the rules in the text."""
    left_out: list[str] = Field(default_factory=list)
    """Ids of rules that did not fit in the size limit."""


def support_key(rule: RuleRecord) -> tuple[int, float, int, int]:
    """How well a rule is supported (higher is better): evidence rows, measured lift, last confirmation,
    then age (older first)."""
    return (
        len(rule.evidence),
        rule.lift if rule.lift is not None else 0.0,
        rule.last_confirmed_gen,
        -_seq(rule.id),
    )


def _seq(rule_id: str) -> int:
    digits = "".join(ch for ch in rule_id if ch.isdigit())
    return int(digits) if digits else 0


def _rule_lines(rule: RuleRecord) -> str:
    agents = len({e.agent_id for e in rule.evidence})
    scope = f" (when: {rule.scope})" if rule.scope else ""
    line = f"- [{rule.id}, {agents} agent{'s' if agents != 1 else ''}]{scope} {rule.text}"
    if rule.example:
        line += f"\n  Example: {clip(rule.example, 200)}"
    return line


def _render(rules: Sequence[RuleRecord]) -> str:
    if not rules:
        return ""
    sections = []
    for rule_type in TYPE_ORDER:
        group = sorted((r for r in rules if r.type == rule_type), key=support_key, reverse=True)
        if group:
            sections.append(f"## {TYPE_HEADINGS[rule_type]}\n" + "\n".join(_rule_lines(r) for r in group))
    return render(read_prompt("reflect_manual.md"), {"sections": "\n\n".join(sections)}).strip()


def formulate(rules: Iterable[RuleRecord], *, max_chars: int | None = None) -> Formulated:
    """Compile `rules` into the manual: grouped by type in `TYPE_ORDER`, best supported first, each
    rule's text word for word. With `max_chars`, whole rules are left out (least supported first) until
    the text fits; no rule is ever cut."""
    chosen = sorted(rules, key=support_key, reverse=True)
    left_out: list[str] = []
    text = _render(chosen)
    while max_chars is not None and chosen and len(text) > max_chars:
        left_out.append(chosen.pop().id)
        text = _render(chosen)
    order = {
        r.id: i for i, r in enumerate(sorted(chosen, key=lambda r: (TYPE_ORDER.index(r.type), _seq(r.id))))
    }
    return Formulated(text=text, included=sorted(order, key=order.__getitem__), left_out=left_out)


def hidden_rules(rule_ids: Iterable[str], *, generation: int, seed: int, share: float) -> set[str]:
    """The rules hidden from the meta prompt in `generation`: each with probability `share`, from a
    generator seeded by (seed, generation, rule id)."""
    if share <= 0:
        return set()
    return {
        rid
        for rid in rule_ids
        if random.Random(f"agentkit-reflect/hide/{seed}/{generation}/{rid}").random() < share
    }


def stale_rules(rules: Iterable[RuleRecord], generation: int, config: ReflectConfig) -> list[tuple[str, str]]:
    """Active unresolved_error rules not confirmed for `stale_generations` generations, with the reason."""
    return [
        (r.id, f"stale: unresolved_error not confirmed since generation {r.last_confirmed_gen}")
        for r in rules
        if r.status == "active"
        and r.type == "unresolved_error"
        and generation - r.last_confirmed_gen >= config.stale_generations
    ]


def least_supported(rules: Sequence[RuleRecord], count: int) -> list[str]:
    """The `count` least supported of `rules` (see `support_key`)."""
    return [r.id for r in sorted(rules, key=support_key)[: max(count, 0)]]


class Merge(BaseModel):
    """A checked merge: several active rules replaced by one that keeps all their evidence."""

    rule_ids: list[str]
    """The rules replaced."""
    type: RuleType
    """Type of the merged rule (one of the replaced rules' types)."""
    scope: str
    """When the merged rule applies."""
    text: str
    """The merged rule."""
    example: str
    """An illustration."""
    evidence: list[RuleEvidence]
    """Every evidence row of the replaced rules, in their order."""


def check_merges(
    raw: Any, active: Sequence[RuleRecord], config: ReflectConfig
) -> tuple[list[Merge], list[dict[str, Any]]]:
    """Merges that may be applied (each over two or more distinct active rules not used by an earlier
    merge, keeping one of their types, with a short non-empty text) and the refused ones with reasons."""
    by_id = {r.id: r for r in active if r.status == "active"}
    used: set[str] = set()
    accepted: list[Merge] = []
    rejected: list[dict[str, Any]] = []
    items = raw if isinstance(raw, list) else []
    for item in items:
        if not isinstance(item, dict):
            rejected.append({"merge": item, "reason": "a merge must be a JSON object"})
            continue
        ids = id_list(item.get("rule_ids", []))
        raw_text = item.get("text")
        text = raw_text.strip() if isinstance(raw_text, str) else ""
        rule_type = str(item.get("type", "")).strip().lower()
        problem = None
        if len(ids) < 2:
            problem = "a merge replaces two or more rules"
        elif any(i not in by_id for i in ids):
            problem = f"merge names rules that are not active: {[i for i in ids if i not in by_id]}"
        elif used.intersection(ids):
            problem = f"rules {sorted(used.intersection(ids))} are already in another merge"
        elif rule_type not in {by_id[i].type for i in ids}:
            problem = f"type {rule_type!r} is not the type of any merged rule"
        elif not text or len(text) > config.rule_text_chars:
            problem = f"the merged text must have 1 to {config.rule_text_chars} characters"
        if problem is not None:
            rejected.append({"merge": item, "reason": problem})
            continue
        used.update(ids)
        accepted.append(
            Merge(
                rule_ids=ids,
                type=rule_type,
                scope=clip(str(item.get("scope", "") or ""), 300),
                text=text,
                example=clip(str(item.get("example", "") or ""), 400),
                evidence=[e for i in ids for e in by_id[i].evidence],
            )
        )
    return accepted, rejected


class RuleKeeper:
    """End-of-generation upkeep of the rules: lift, expiry, activation and the cap."""

    def __init__(
        self, archive: Archive, client: LLMClient, model: ModelConfig, config: ReflectConfig
    ) -> None:
        self.archive = archive
        self.client = client
        self.model = model
        self.config = config

    def retire(self, items: Iterable[tuple[str, str]], generation: int) -> list[str]:
        """Retire each (rule id, reason); returns the ids."""
        done = []
        with self.archive.transaction():
            for rule_id, reason in items:
                self.archive.set_rule_status(rule_id, "retired", generation=generation, reason=reason)
                done.append(rule_id)
        return done

    def activate_candidates(self, generation: int) -> list[str]:
        """Make every candidate rule active (rules written during a generation join the next manual)."""
        ids = [r.id for r in self.archive.rules("candidate")]
        with self.archive.transaction():
            for rule_id in ids:
                self.archive.set_rule_status(
                    rule_id, "active", generation=generation, reason="written from a reflection"
                )
        return ids

    async def consolidate(self, generation: int) -> dict[str, Any]:
        """Bring the active rules under the cap: model-proposed merges checked by code, then retire the
        least supported. Returns what happened (also logged as a ``manual_consolidation`` event)."""
        cap = self.config.rule_cap
        active = self.archive.rules("active")
        report: dict[str, Any] = {
            "before": len(active),
            "cap": cap,
            "merged": [],
            "rejected": [],
            "retired": [],
        }
        if len(active) <= cap:
            return report
        raw = ""
        try:
            reply = await self.client.complete(
                self._messages(active),
                self.model,
                role="reflect",
                temperature=self.config.temperature,
                max_tokens=max(self.config.max_tokens, 1536),
                json_mode=True,
            )
            raw = reply.text
        except BudgetExceeded:
            raise
        except LLMError as exc:
            report["error"] = f"{type(exc).__name__}: {exc}"
        value = json_value(raw) if raw else None
        if isinstance(value, dict):
            value = value.get("merges")
        merges, rejected = check_merges(value, active, self.config)
        report["rejected"] = rejected
        with self.archive.transaction():
            for merge in merges:
                new = self.archive.add_rule(
                    merge.type,
                    merge.text,
                    generation=generation,
                    scope=merge.scope,
                    example=merge.example,
                    status="active",
                    evidence=merge.evidence,
                )
                kept = len(new.evidence)
                if kept != len(merge.evidence):  # pragma: no cover - the archive stores what it is given
                    raise AssertionError("a merge lost evidence")
                for rule_id in merge.rule_ids:
                    self.archive.set_rule_status(
                        rule_id, "retired", generation=generation, reason=f"merged into {new.id}"
                    )
                report["merged"].append({"into": new.id, "from": merge.rule_ids, "evidence": kept})
            active = self.archive.rules("active")
            over = len(active) - cap
            if over > 0:
                for rule_id in least_supported(active, over):
                    self.archive.set_rule_status(
                        rule_id,
                        "retired",
                        generation=generation,
                        reason=f"over the cap of {cap}: least supported",
                    )
                    report["retired"].append(rule_id)
        report["after"] = len(self.archive.rules("active"))
        if report["rejected"] or report.get("error"):
            report["raw"] = clip(raw, 2000)
        self.archive.log_event("manual_consolidation", report, generation=generation)
        return report

    def _messages(self, active: Sequence[RuleRecord]) -> list[dict[str, str]]:
        lines = []
        for r in sorted(active, key=lambda r: (TYPE_ORDER.index(r.type), _seq(r.id))):
            scope = f" (when: {r.scope})" if r.scope else ""
            lines.append(f"- {r.id} [{r.type}, {len(r.evidence)} evidence]{scope}: {r.text}")
        user = render(
            read_prompt("reflect_consolidate.md"),
            {
                "count": len(active),
                "cap": self.config.rule_cap,
                "excess": len(active) - self.config.rule_cap,
                "rules": "\n".join(lines),
                "text_chars": self.config.rule_text_chars,
            },
        )
        return [{"role": "user", "content": user}]
