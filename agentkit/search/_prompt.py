"""The meta agent's prompts, built from the templates in `prompts/` and bounded in size.

ADAS pasted the whole archive into the prompt (about 35k tokens by generation 30). Here the prompt shows
a fixed number of agents, each with clipped code, a thought and a few failed examples, and the builder
shrinks what it shows until the estimate fits `max_tokens`, however large the archive grows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agentkit._resources import read_prompt, render
from agentkit.records import clip
from agentkit.search._sections import PromptLimits  # the run's `prompt` settings section


def estimate_tokens(text: str) -> int:
    """A rough token count (characters / 4), the measure the prompt bound is checked against."""
    return (len(text) + 3) // 4


def prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """Estimated tokens of a chat prompt (characters / 4 plus a little per message)."""
    return sum(estimate_tokens(str(m.get("content", ""))) + 4 for m in messages)


@dataclass(frozen=True)
class FailureExample:
    """One question an agent got wrong, as shown to the meta agent."""

    question: str
    target: str
    answer: str | None
    error: str | None = None


@dataclass(frozen=True)
class AgentCard:
    """One agent as shown in the meta prompt."""

    id: str
    name: str
    generation: int
    thought: str
    code: str
    score: str
    """Score line, e.g. ``0.62 [0.48, 0.75] on 40 questions``."""
    label: str = "Agent"
    """Its role in this prompt: main parent, partner, or inspiration."""
    failures: tuple[FailureExample, ...] = field(default_factory=tuple)


def _failure_text(failures: Sequence[FailureExample], limits: PromptLimits) -> str:
    if not failures or limits.failures <= 0:
        return ""
    lines = ["Questions it got wrong:"]
    for f in failures[: limits.failures]:
        got = f"error: {clip(f.error, limits.example_chars)}" if f.error else f"answered: {f.answer!r}"
        lines.append(
            f"- Question: {clip(f.question, limits.example_chars)}\n"
            f"  Gold answer: {clip(f.target, 100)}; the agent {got}"
        )
    return "\n".join(lines) + "\n"


def agent_entry(card: AgentCard, limits: PromptLimits) -> str:
    """The prompt section of one agent."""
    return render(
        read_prompt("meta_agent_entry.md"),
        {
            "label": card.label,
            "name": clip(card.name, 80),
            "id": card.id,
            "generation": card.generation,
            "score": card.score,
            "thought": clip(card.thought, limits.thought_chars) or "(none given)",
            "code": clip(card.code, limits.code_chars),
            "failures": _failure_text(card.failures, limits),
        },
    )


def system_prompt(runtime_api: str, *, form: str = "code", max_calls: int | None = None) -> str:
    """The meta agent's system message: its job, the reference it writes against (the runtime API for
    code, the operator reference for workflows, with the run's limit of `max_calls` model calls per
    question) and the reply rules."""
    if form == "workflow":
        from agentkit.workflow import MAX_MODEL_CALLS

        limit = MAX_MODEL_CALLS if max_calls is None else max_calls
        operators = render(read_prompt("workflow_operators.md").strip(), {"max_calls": limit})
        return render(read_prompt("meta_system_workflow.md"), {"operators": operators})
    return render(read_prompt("meta_system.md"), {"runtime_api": runtime_api.strip()})


def _user_prompt(
    *,
    task_description: str,
    answer_format: str,
    manual: str,
    cards: Sequence[AgentCard],
    limits: PromptLimits,
    partner_gain: int | None,
    form: str = "code",
    callable_agents: str = "",
    first_operator: str | None = None,
) -> str:
    manual = clip(manual, limits.manual_chars)
    manual_block = f"# Manual: what earlier generations taught us\n\n{manual}\n\n" if manual else ""
    entries = "\n".join(agent_entry(c, limits) for c in cards) if cards else "(none yet)\n"
    first = cards[0] if cards else None
    partner = cards[1] if len(cards) > 1 else None
    return render(
        read_prompt("meta_propose_workflow.md" if form == "workflow" else "meta_propose.md"),
        {
            "callable_agents": callable_agents or "none yet",
            "focus": f" This time, start the workflow with the `{first_operator}` operator."
            if first_operator
            else "",
            "task_description": task_description.strip(),
            "answer_format": answer_format.strip(),
            "manual": manual_block,
            "agents": entries,
            "first_parent": f"{first.name}, id {first.id}" if first else "any idea of your own",
            "partner_hint": _partner_hint(partner, partner_gain),
        },
    )


def _partner_hint(partner: AgentCard | None, gain: int | None) -> str:
    # Say that the partner complements the main parent only when it does: random or best-pair selection,
    # and a complementary choice from a pool where nobody covers the parent's failures, give one that may
    # not.
    if partner is None:
        return ""
    if gain:
        many = "question" if gain == 1 else "questions"
        return f" and its partner ({partner.name}, id {partner.id}), which solves {gain} {many} the main parent fails"
    return f" and the second parent ({partner.name}, id {partner.id})"


def _shrunk(value: int, floor: int) -> int:
    return min(value, max(floor, value * 2 // 3))


def _shrink_steps(limits: PromptLimits) -> list[PromptLimits]:
    """Ever smaller limits, tried in order until the prompt fits."""
    steps = [limits]
    current = limits
    while current.code_chars > 400 or current.failures > 0 or current.thought_chars > 150:
        # Each limit shrinks towards its floor but never grows: a setting already below a floor stays.
        # The manual keeps its size: it was compiled to fit `manual_chars` from whole rules, and cutting
        # it here would cut rules mid-sentence while the lift bookkeeping counts them as shown.
        current = current.model_copy(
            update={
                "code_chars": _shrunk(current.code_chars, 400),
                "thought_chars": _shrunk(current.thought_chars, 150),
                "example_chars": _shrunk(current.example_chars, 80),
                "failures": max(0, current.failures - 1) if current.code_chars <= 1200 else current.failures,
            }
        )
        steps.append(current)
    return steps


def build_meta_prompt(
    *,
    runtime_api: str,
    task_description: str,
    answer_format: str,
    cards: Sequence[AgentCard],
    manual: str = "",
    limits: PromptLimits | None = None,
    partner_gain: int | None = None,
    form: str = "code",
    callable_agents: str = "",
    first_operator: str | None = None,
    max_calls: int | None = None,
) -> list[dict[str, str]]:
    """The chat messages asking the meta agent for a new agent, within `limits.max_tokens`.

    `cards` come in order of importance (main parent, partner, inspirations). `partner_gain` is how many
    questions the partner solves that the main parent fails (the prompt says so only when it is known
    and above zero). When the estimate is over the bound, code, thoughts and examples are clipped
    harder, then the least important agents dropped. With ``form="workflow"`` the meta agent is asked
    for a workflow spec instead of code, `callable_agents` lists the archive agents it may call and
    `max_calls` is the most model calls per question its workflow may cost.
    """
    limits = limits or PromptLimits()
    system = system_prompt(runtime_api, form=form, max_calls=max_calls)
    shown = list(cards)
    messages: list[dict[str, str]] = []
    while True:
        for step in _shrink_steps(limits):
            user = _user_prompt(
                task_description=task_description,
                answer_format=answer_format,
                manual=manual,
                cards=shown,
                limits=step,
                partner_gain=partner_gain,
                form=form,
                callable_agents=callable_agents,
                first_operator=first_operator,
            )
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            if prompt_tokens(messages) <= limits.max_tokens:
                return messages
        if not shown:
            return messages  # the fixed parts alone exceed the bound; nothing more can go
        shown = shown[:-1]
