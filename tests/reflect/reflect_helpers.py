"""Builders shared by the reflect tests: a search context over a real archive, scored agents, and a
scripted reflection model on the fake OpenAI server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agentkit.archive import AgentRecord, Archive
from agentkit.evaluate._summary import summarize
from agentkit.llm import LLMClient, ModelConfig
from agentkit.records import AgentFailure, EvalResult, ExampleResult, LLMCallTrace
from agentkit.search import CandidateOutcome, SearchConfig, SearchContext
from agentkit.tasks import Example, Task
from agentkit.testing import FakeOpenAIServer

N_EXAMPLES = 20

CODE = """def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "Solver {tag}")
    thinking, answer = agent([taskInfo], "Think step by step. {tag}")
    return answer
"""


def make_examples(n: int = N_EXAMPLES) -> list[Example]:
    """`n` arithmetic questions ex0..ex{n-1} whose answer is 2*i."""
    return [Example(id=f"ex{i}", input=f"What is {i} + {i}?", target=str(2 * i)) for i in range(n)]


def make_task(examples: Sequence[Example]) -> Task:
    """A small task over `examples`."""
    return Task(
        name="toy/double",
        description="Double a number given as a sum.",
        answer_format="a whole number",
        examples=list(examples),
        scorer_name="exact",
    )


def results_for(
    examples: Sequence[Example], correct: Iterable[int], *, crash: Iterable[int] = ()
) -> list[ExampleResult]:
    """Results on `examples`: indices in `correct` right, in `crash` failing with an exception, the rest
    answered wrongly (each with a one-call trace)."""
    right, broken = set(correct), set(crash)
    out = []
    for i, e in enumerate(examples):
        trace = [LLMCallTrace(agent_name="Solver", prompt=f"Q: {e.input}", reply=f'{{"answer": "{i}"}}')]
        if i in broken:
            out.append(
                ExampleResult(
                    example_id=e.id,
                    answer=None,
                    score=0.0,
                    error=AgentFailure(kind="exception", message="NameError: name 'x' is not defined"),
                    trace=trace,
                )
            )
        elif i in right:
            out.append(ExampleResult(example_id=e.id, answer=e.target, score=1.0, trace=trace))
        else:
            out.append(ExampleResult(example_id=e.id, answer=str(i), score=0.0, trace=trace))
    return out


def add_scored(
    archive: Archive,
    examples: Sequence[Example],
    name: str,
    correct: Iterable[int],
    *,
    parents: Sequence[str] = (),
    generation: int = 0,
    crash: Iterable[int] = (),
    origin: str = "meta",
    slot: int | None = None,
    screen: int | None = None,
) -> tuple[AgentRecord, EvalResult]:
    """Add an agent with search results (all examples, or only the first `screen` when screened)."""
    meta: dict[str, Any] = {} if slot is None else {"slot": slot, "attempt": 0}
    agent = archive.add_agent(
        name,
        CODE.replace("{tag}", name),
        thought=f"Design of {name}",
        parents=parents,
        generation=generation,
        origin="seed" if origin == "seed" else "meta",
        meta=meta,
    )
    results = results_for(examples, correct, crash=crash)
    if screen is not None:
        results = results[:screen]
    result = EvalResult(
        agent=name,
        task="toy/double",
        results=results,
        summary=summarize(results, stopped_early=screen is not None),
    )
    archive.record_evaluation(agent.id, result, split="search", status="screened" if screen else "evaluated")
    return archive.agent(agent.id), result


def make_ctx(
    archive: Archive,
    client: LLMClient,
    model: ModelConfig,
    examples: Sequence[Example],
    **search: Any,
) -> SearchContext:
    """A search context like the one the search hands its hooks."""
    config = SearchConfig(task="toy/double", seed=0, **search)
    return SearchContext(
        config=config,
        archive=archive,
        client=client,
        meta_model=model,
        agent_model=model,
        task=make_task(examples),
        examples=list(examples),
    )


def outcome_of(agent: AgentRecord, result: EvalResult) -> CandidateOutcome:
    """The CandidateOutcome the search passes to after_evaluation."""
    return CandidateOutcome(
        agent_id=agent.id,
        generation=agent.generation,
        parents=list(agent.parents),
        status=agent.status,
        result=result,
    )


def user_text(body: dict[str, Any]) -> str:
    """All message text of a chat request."""
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def is_reflection(body: dict[str, Any]) -> bool:
    """A reflection request."""
    return "You review agents" in user_text(body)


def is_builder(body: dict[str, Any]) -> bool:
    """A builder request."""
    return "A reflection on a newly evaluated agent" in user_text(body)


def is_consolidation(body: dict[str, Any]) -> bool:
    """A consolidation request."""
    return "Merge rules that say the same thing" in user_text(body)


def reflection_reply(example_ids: Sequence[str] = (), **fields: str) -> str:
    """A well-formed reflection reply."""
    payload = {
        "outcome": "regressed",
        "fault": "agent",
        "first_wrong_step": "the instruction asks for words, not a number",
        "failure_pattern": "answers in words instead of digits",
        "example_ids": list(example_ids),
        "contrast_agent": "the parent asks for digits",
        "lesson": "Ask for the answer as digits only.",
    }
    payload.update(fields)
    return json.dumps(payload)


def ops_reply(*ops: dict[str, Any]) -> str:
    """A builder reply with these operations."""
    return json.dumps({"operations": list(ops)})


def script(
    server: FakeOpenAIServer, predicate: Callable[[dict[str, Any]], bool], replies: Sequence[str]
) -> None:
    """Answer requests matching `predicate` with `replies` in turn (the last one repeats)."""
    state = {"i": 0}

    def next_reply(body: dict[str, Any]) -> str:
        i = min(state["i"], len(replies) - 1)
        state["i"] += 1
        return replies[i]

    server.add_rule(predicate, next_reply)


def requests_matching(
    server: FakeOpenAIServer, predicate: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Requests the server received that match `predicate`."""
    return [r for r in server.requests if predicate(r)]


def evidence_problems(archive: Archive) -> list[str]:
    """Every evidence row of every rule that does not reference a real agent and examples that agent was
    scored on, or a reflection of that agent (empty when all are sound)."""
    problems = []
    agents = {a.id: a for a in archive.agents()}
    reflections = {r.id: r for r in archive.reflections()}
    for rule in archive.rules():
        for ev in rule.evidence:
            if ev.agent_id not in agents:
                problems.append(f"{rule.id}: unknown agent {ev.agent_id}")
                continue
            scored = {r.example_id for r in archive.results(ev.agent_id, "search")}
            bad = [e for e in ev.example_ids if e not in scored]
            if bad:
                problems.append(f"{rule.id}: {ev.agent_id} was not scored on {bad}")
            if ev.generation != agents[ev.agent_id].generation:
                problems.append(f"{rule.id}: generation {ev.generation} is not {ev.agent_id}'s")
            if ev.reflection_id is not None and (
                ev.reflection_id not in reflections or reflections[ev.reflection_id].agent_id != ev.agent_id
            ):
                problems.append(f"{rule.id}: reflection {ev.reflection_id} is not about {ev.agent_id}")
    return problems
