"""Reflection on one evaluated candidate: classify its outcome, pick the examples worth studying, ask the
reflection model for a diagnosis, and store whatever comes back (never failing on a bad reply)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentkit._resources import read_prompt, render
from agentkit.errors import BudgetExceeded, LLMError
from agentkit.records import ExampleResult, clip
from agentkit.reflect._outcome import SOLVED, OutcomeVerdict, classify_outcome
from agentkit.reflect._text import id_list

if TYPE_CHECKING:
    from agentkit.archive import Archive, ReflectionRecord
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.reflect._config import ReflectConfig
    from agentkit.tasks import Example, Task

ExampleKind = Literal["regression", "unsolved", "failure", "gain"]

REFLECTION_FIELDS = [
    "outcome",
    "fault",
    "first_wrong_step",
    "failure_pattern",
    "example_ids",
    "contrast_agent",
    "lesson",
]
"""The keys the reflection model is asked for."""

_KIND_TEXT = {
    "regression": "the parent solved this one; the agent under review did not",
    "unsolved": "no agent in the archive has solved this one",
    "failure": "answered wrongly",
    "gain": "solved by the agent under review, failed by its parent",
}


@dataclass
class PickedExample:
    """One example chosen for a reflection, with why it was chosen."""

    example_id: str
    kind: ExampleKind
    result: ExampleResult
    solvers: list[str] = field(default_factory=list)
    """Other agents that solved it, best first."""


def pick_examples(
    child_id: str,
    child_results: Sequence[ExampleResult],
    parent_scores: Mapping[str, float] | None,
    matrix: Mapping[str, Mapping[str, float]],
    *,
    outcome: str,
    k: int,
    gains: int,
    rank: Mapping[str, float] | None = None,
) -> list[PickedExample]:
    """The examples to show the reflection model: up to `k` failures, those the parent solved first
    (regressions), then those no agent solves, then the rest in split order; for an improvement also up to
    `gains` examples the child solved and the parent failed. `rank` orders the solvers (higher first)."""
    rank = rank or {}

    def solvers(example_id: str) -> list[str]:
        found = [a for a, row in matrix.items() if a != child_id and row.get(example_id, 0.0) >= SOLVED]
        return sorted(found, key=lambda a: (-rank.get(a, 0.0), a))

    groups: dict[ExampleKind, list[PickedExample]] = {"regression": [], "unsolved": [], "failure": []}
    for r in child_results:
        if r.score >= SOLVED:
            continue
        who = solvers(r.example_id)
        if parent_scores is not None and parent_scores.get(r.example_id, 0.0) >= SOLVED:
            kind: ExampleKind = "regression"
        elif not who:
            kind = "unsolved"
        else:
            kind = "failure"
        groups[kind].append(PickedExample(r.example_id, kind, r, who))
    picked = (groups["regression"] + groups["unsolved"] + groups["failure"])[:k]
    if outcome == "improved" and parent_scores is not None and gains > 0:
        won = [
            PickedExample(r.example_id, "gain", r, solvers(r.example_id))
            for r in child_results
            if r.score >= SOLVED and r.example_id in parent_scores and parent_scores[r.example_id] < SOLVED
        ]
        picked += won[:gains]
    return picked


def choose_contrast(
    picked: Sequence[PickedExample], parent_id: str | None
) -> tuple[str | None, dict[str, str]]:
    """The contrasting agent (the one that solved most of the picked failures; the parent wins ties) and,
    per failed example, an agent that solved it (the contrasting agent where it did)."""
    failures = [p for p in picked if p.kind != "gain"]
    counts: dict[str, int] = {}
    order: dict[str, int] = {}
    for p in failures:
        for position, agent_id in enumerate(p.solvers):
            counts[agent_id] = counts.get(agent_id, 0) + 1
            order[agent_id] = min(order.get(agent_id, position), position)
    if not counts:
        return None, {}
    best = max(counts, key=lambda a: (counts[a], a == parent_id, -order[a]))
    per_example = {p.example_id: best if best in p.solvers else p.solvers[0] for p in failures if p.solvers}
    return best, per_example


def _trace_text(result: ExampleResult, limit: int) -> str:
    if limit <= 0 or not result.trace:
        return ""
    each = max(80, limit // (2 * len(result.trace)))
    lines = []
    for i, call in enumerate(result.trace, 1):
        who = f" ({call.agent_name})" if call.agent_name else ""
        lines.append(f"Call {i}{who}\n  prompt: {clip(call.prompt, each)}\n  reply: {clip(call.reply, each)}")
    return clip("\n".join(lines), limit)


def _example_text(p: PickedExample, example: Example | None, contrast: str | None, cfg: ReflectConfig) -> str:
    r = p.result
    question = clip(example.input, cfg.example_chars) if example else "(question not available)"
    gold = clip(example.target, cfg.example_chars) if example else "?"
    lines = [
        f"## Question {p.example_id} ({_KIND_TEXT[p.kind]})",
        f"Question: {question}",
        f"Gold answer: {gold}",
        f"Agent's answer: {clip(r.answer, cfg.example_chars) if r.answer is not None else '(none)'}",
    ]
    if r.error is not None:
        lines.append(f"Error: {r.error.kind}: {clip(r.error.message, cfg.example_chars)}")
        if r.error.traceback:
            lines.append(
                f"Traceback (end):\n{clip(r.error.traceback[-cfg.example_chars :], cfg.example_chars)}"
            )
    trace = _trace_text(r, cfg.trace_chars)
    if trace:
        lines.append(f"Model calls:\n{trace}")
    if contrast:
        lines.append(f"Solved by: {contrast}")
    return "\n".join(lines)


def _normal_fault(text: str) -> str:
    low = text.lower()
    rules, agent = "rule" in low or "manual" in low, "agent" in low or "design" in low
    if (rules and agent) or "both" in low:
        return "both"
    if rules:
        return "rules"
    if agent:
        return "agent"
    return "unclear"


class Reflector:
    """Writes one reflection per evaluated candidate into the archive."""

    def __init__(
        self,
        archive: Archive,
        client: LLMClient,
        model: ModelConfig,
        config: ReflectConfig,
        task: Task,
        examples: Sequence[Example],
        *,
        seed: int = 0,
    ) -> None:
        self.archive = archive
        self.client = client
        self.model = model
        self.config = config
        self.task = task
        self.examples = {e.id: e for e in examples}
        self.seed = seed

    def verdict(self, agent_id: str) -> OutcomeVerdict:
        """The candidate's outcome against its main parent on the search split."""
        agent = self.archive.agent(agent_id)
        parent_id = agent.parents[0] if agent.parents else None
        parent = self.archive.results(parent_id, "search") if parent_id else None
        return classify_outcome(
            self.archive.results(agent_id, "search"),
            parent,
            parent_id=parent_id,
            alpha=self.config.noise_alpha,
            crash_share=self.config.crash_share,
            seed=self.seed,
        )

    def messages(
        self, agent_id: str, verdict: OutcomeVerdict, manual: str
    ) -> tuple[list[dict[str, str]], list[PickedExample], str | None, dict[str, str]]:
        """The reflection prompt, the examples in it and the contrasting agent(s) chosen by code."""
        cfg = self.config
        agent = self.archive.agent(agent_id)
        # Split order, not the order results finished in (concurrency varies it): the same archive
        # must give the same prompt, so a resumed run hits the cache and picks the same examples.
        order = {example_id: i for i, example_id in enumerate(self.examples)}
        results = sorted(
            self.archive.results(agent_id, "search"),
            key=lambda r: (order.get(r.example_id, len(order)), r.example_id),
        )
        matrix = self.archive.correctness_matrix("search")
        parent_scores = matrix.get(verdict.parent_id) if verdict.parent_id else None
        rank = {
            a.id: (a.search_summary.accuracy.mean if a.search_summary else 0.0)
            + (1.0 if a.id == verdict.parent_id else 0.0)
            for a in self.archive.agents()
        }
        picked = pick_examples(
            agent_id,
            results,
            parent_scores,
            matrix,
            outcome=verdict.outcome,
            k=cfg.examples_per_reflection,
            gains=cfg.gains_per_reflection,
            rank=rank,
        )
        contrast, per_example = choose_contrast(picked, verdict.parent_id)
        blocks = [
            _example_text(p, self.examples.get(p.example_id), per_example.get(p.example_id), cfg)
            for p in picked
        ]
        if contrast is not None:
            other = self.archive.agent(contrast)
            contrast_text = (
                f"{other.name} ({other.id}), generation {other.generation}:\n\n```python\n"
                f"{clip(other.code, cfg.code_chars // 2)}\n```"
            )
        else:
            contrast_text = "(no agent in the archive solved these questions)"
        user = render(
            read_prompt("reflect_candidate.md"),
            {
                "task_description": clip(self.task.description, 1500),
                "name": agent.name,
                "agent_id": agent.id,
                "generation": agent.generation,
                "verdict": verdict.describe(),
                "thought": clip(agent.thought, 1200) or "(none given)",
                "code": clip(agent.code, cfg.code_chars),
                "manual": clip(manual, 3000) or "(no manual was shown)",
                "examples": "\n\n".join(blocks) or "(the agent answered every question correctly)",
                "contrast": contrast_text,
            },
        )
        system = read_prompt("reflect_system.md").strip()
        return (
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            picked,
            contrast,
            per_example,
        )

    async def reflect(
        self, agent_id: str, generation: int, *, manual: str = ""
    ) -> tuple[ReflectionRecord, OutcomeVerdict]:
        """Reflect on `agent_id` and store the reflection. A reply that does not parse, or a failed model
        call, still leaves a reflection (with what parsed, the raw text and the error); only a budget stop
        is raised."""
        verdict = self.verdict(agent_id)
        messages, picked, contrast, per_example = self.messages(agent_id, verdict, manual)
        shown = [p.example_id for p in picked]
        fields: dict[str, str] = {}
        raw = ""
        error: str | None = None
        try:
            reply = await self.client.complete_fields(
                messages,
                self.model,
                REFLECTION_FIELDS,
                role="reflect",
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
                strict=False,
            )
            fields, raw, error = reply.fields, reply.completion.text, reply.parse_error
        except BudgetExceeded:
            raise
        except LLMError as exc:
            error = f"{type(exc).__name__}: {exc}"
            raw = str(getattr(exc, "raw", ""))
        cited = [e for e in id_list(fields.get("example_ids", "")) if e in shown]
        payload: dict[str, Any] = {
            "outcome": verdict.outcome,
            "verdict": verdict.describe(),
            "fault": _normal_fault(fields.get("fault", "")) if fields.get("fault") else "",
            "first_wrong_step": fields.get("first_wrong_step", "").strip(),
            "failure_pattern": fields.get("failure_pattern", "").strip(),
            "lesson": fields.get("lesson", "").strip(),
            "example_ids": cited or [p.example_id for p in picked if p.kind != "gain"],
            "contrast_agent": contrast,
            "contrast_by_example": per_example,
            "contrast_note": fields.get("contrast_agent", "").strip(),
            "model_outcome": fields.get("outcome", "").strip(),
            "examples_shown": [{"id": p.example_id, "kind": p.kind} for p in picked],
            "parent": verdict.parent_id,
            "score_change": verdict.score_change,
            "p_value": verdict.p_value,
            "n_shared": verdict.n_shared,
        }
        if error is not None:
            payload["parse_error"] = error
            payload["raw"] = clip(raw, 4000)
        record = self.archive.add_reflection(agent_id, generation, payload, outcome=verdict.outcome)
        return record, verdict
