"""Every operator, rendered to code, runs in the sandbox against the fake OpenAI server and makes exactly
the model calls it should; a rendered agent exported to a file answers through `load_agent`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.evaluate import Session, evaluate_agent
from agentkit.tasks import load_task
from agentkit.testing import FakeOpenAIServer, model_config_for, requested_fields
from agentkit.workflow import AgentSource, WorkflowSpec, model_calls, parse_workflow, render_workflow

pytestmark = pytest.mark.sandbox

_EXPR = re.compile(r"Compute the value of this expression: ([-\d\s()+*]+)")
SEEDS = Path(__file__).resolve().parents[2] / "archives" / "seed"


def _model(request: dict[str, Any]) -> str:
    """Knows every answer (but answers WRONG when told to DOUBT); a verifier says no exactly to WRONG
    answers; picks solver 2 when routing."""
    text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    match = _EXPR.search(text)
    value = eval(match.group(1).strip(), {"__builtins__": {}}) if match else 0  # our own generated digits
    reply: dict[str, str] = {}
    for field in requested_fields(request) or ["answer"]:
        if field == "code":
            reply[field] = f"answer = {match.group(1).strip() if match else 0}"
        elif field == "verdict":
            reply[field] = "no" if "WRONG" in text else "yes"
        elif field == "choice":
            reply[field] = "Solver 2 fits best."
        elif "answer" in field:
            reply[field] = "WRONG" if "DOUBT" in text else str(value)
        else:
            reply[field] = f"Noted: {value}."
    return json.dumps(reply)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_model) as srv:
        yield srv


ARCHIVE = {
    "a0001": AgentSource("a0001", "Chain-of-Thought", (SEEDS / "cot.py").read_text(), "one reasoned call"),
    "a0002": AgentSource(
        "a0002", "Self-Consistency", (SEEDS / "cot_sc.py").read_text(), "five samples, a vote"
    ),
}

# (steps, model calls per question, names of calls that must appear in the trace)
CASES: dict[str, tuple[list[dict[str, Any]], int, set[str]]] = {
    "generate": ([{"op": "generate", "samples": 3, "temperature": 0.8}], 3, {"step 1 generate"}),
    "vote": ([{"op": "generate", "samples": 3}, {"op": "vote"}], 3, {"step 1 generate"}),
    "vote_alone": ([{"op": "vote"}], 1, {"step 1 first answer"}),
    "critique_revise": (
        [{"op": "generate"}, {"op": "critique_revise", "rounds": 2}],
        5,
        {"step 2 critic", "step 2 revise"},
    ),
    "debate": ([{"op": "debate", "agents": 3, "rounds": 1}], 7, {"step 1 debater 3", "step 1 judge"}),
    "step_back": ([{"op": "step_back"}, {"op": "generate"}], 2, {"step 1 step back", "step 2 generate"}),
    "step_back_alone": ([{"op": "step_back"}], 2, {"step 1 step back", "final answer"}),
    "program": ([{"op": "program"}], 2, {"step 1 write program", "step 1 read output"}),
    "verify_accepts": ([{"op": "generate"}, {"op": "verify", "retries": 2}], 2, {"step 2 verify"}),
    "verify_rejects": (
        [{"op": "generate", "instruction": "DOUBT everything."}, {"op": "verify", "retries": 1}],
        3,
        {"step 2 verify", "step 2 retry"},
    ),
    "call_agent": ([{"op": "call_agent", "agent_id": "a0001"}], 1, {"Chain-of-Thought Agent"}),
    "route": (
        [{"op": "route", "agent_ids": ["a0001", "a0002"]}],
        1 + 5,
        {"step 1 route", "Self-Consistency Sampler"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_each_operator_runs_in_the_sandbox_and_makes_its_calls(case: str, server, tmp_path) -> None:
    steps, calls, names = CASES[case]
    spec = parse_workflow({"name": case, "thought": "test", "steps": steps})
    code = render_workflow(spec, ARCHIVE)
    task = load_task("gen/arithmetic")
    examples = task.examples[:3]
    async with Session.open(model_config_for(server), workers=1, cache_dir=tmp_path) as s:
        result = await evaluate_agent(
            code, examples, task, client=s.client, model=s.model, runner=s.runner, agent_name=case
        )
    assert [r.error for r in result.results] == [None] * 3
    assert result.summary.accuracy.mean == 1.0
    assert [r.llm_calls for r in result.results] == [calls] * 3
    if not any(s["op"] in ("call_agent", "route") for s in steps):  # their agents' calls are not counted
        assert calls <= model_calls(spec)
    if not any(s["op"] in ("call_agent", "route", "verify") for s in steps):
        assert calls == model_calls(spec)  # the bound is exact when nothing branches
    seen = {t.agent_name for r in result.results for t in r.trace}
    assert names <= seen, seen


def test_an_exported_workflow_agent_answers_in_an_app(server, tmp_path, monkeypatch) -> None:
    import agentkit

    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    spec = WorkflowSpec.model_validate(
        {
            "name": "Vote over two archive agents",
            "steps": [
                {"op": "call_agent", "agent_id": "a0001"},
                {"op": "call_agent", "agent_id": "a0002"},
                {"op": "vote"},
            ],
        }
    )
    path = tmp_path / "my_agent.py"
    path.write_text(render_workflow(spec, ARCHIVE))
    with agentkit.load_agent(str(path), model=model_config_for(server), task="gen/arithmetic") as agent:
        reply = agent("Compute the value of this expression: 6 * (3 + 4)")
    assert reply.answer == "42"
    assert reply.usage.llm_calls == 1 + 5
