"""Reading and checking workflow proposals, the grammar schema, and the operator reference the meta agent
reads (prompts/workflow_operators.md) against the code."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from agentkit._resources import read_prompt
from agentkit.runtime import check_agent_code
from agentkit.workflow import (
    FOCUS_OPERATORS,
    MAX_MODEL_CALLS,
    OPERATORS,
    AgentSource,
    CallAgent,
    Debate,
    Generate,
    Vote,
    WorkflowProblem,
    WorkflowSpec,
    model_calls,
    parse_workflow,
    render_workflow,
    workflow_problems,
    workflow_schema,
)


def test_unknown_operators_bad_parameters_and_missing_op_are_each_named() -> None:
    reply = {
        "name": "x",
        "steps": [{"op": "brainstorm"}, {"op": "generate", "samples": 9, "colour": "red"}, {"rounds": 2}],
    }
    with pytest.raises(WorkflowProblem) as caught:
        parse_workflow(reply)
    problems = caught.value.problems
    assert problems[0].startswith("step 1 (brainstorm): unknown operator 'brainstorm'")
    assert "generate, vote" in problems[0]  # the meta agent is told what exists
    assert any(p.startswith("step 2 (generate) samples:") and "5" in p for p in problems)
    assert "step 2 (generate): unknown parameter 'colour'" in problems
    assert "step 3: a step needs an 'op' naming its operator" in problems


def test_text_that_is_not_json_or_not_an_object_is_refused_with_the_reason() -> None:
    with pytest.raises(WorkflowProblem, match="not valid JSON"):
        parse_workflow("{steps: [generate]}")
    with pytest.raises(WorkflowProblem, match="JSON object"):
        parse_workflow("[1, 2]")
    with pytest.raises(WorkflowProblem, match="steps"):
        parse_workflow({"name": "empty", "steps": []})


def test_ids_not_in_the_archive_and_call_hungry_workflows_are_rejected() -> None:
    spec = parse_workflow(
        {"name": "ens", "steps": [{"op": "call_agent", "agent_id": "a0099"}, {"op": "vote"}]}
    )
    assert workflow_problems(spec, {"a0001", "a0002"}) == [
        "agent 'a0099' is not in the archive (known: a0001, a0002)"
    ]
    assert workflow_problems(spec, {"a0099"}) == []
    hungry = WorkflowSpec(name="h", steps=[Debate(agents=3, rounds=2)] * 3)
    assert model_calls(hungry) == 3 * (3 * 3 + 1) > MAX_MODEL_CALLS
    assert "30 model calls" in workflow_problems(hungry, set())[0]


def test_model_calls_counts_the_first_answer_a_refiner_asks_for() -> None:
    assert model_calls(WorkflowSpec(name="sc", steps=[Generate(samples=5), Vote()])) == 5
    assert model_calls(WorkflowSpec(name="v", steps=[Vote()])) == 1
    assert model_calls(parse_workflow({"name": "r", "steps": [{"op": "verify", "retries": 2}]})) == 5
    assert model_calls(WorkflowSpec(name="c", steps=[CallAgent(agent_id="a1")])) == 0


def _instance(schema: dict[str, Any], rng: random.Random) -> Any:
    """A random instance of our flat grammar schema: what a grammar-constrained model can produce."""
    if "anyOf" in schema:
        return _instance(rng.choice(schema["anyOf"]), rng)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema["type"]
    if kind == "object":
        return {k: _instance(v, rng) for k, v in schema["properties"].items()}
    if kind == "array":
        n = rng.randint(schema.get("minItems", 0), schema.get("maxItems", 3))
        return [_instance(schema["items"], rng) for _ in range(n)]
    if kind == "string":
        n = rng.randint(schema.get("minLength", 0), schema.get("maxLength", 20))
        return "".join(rng.choice('ab "\\{}\n') for _ in range(n))
    raise AssertionError(kind)


@pytest.mark.parametrize("ids", [(), ("a0001",), ("a0001", "a0002", "a0007")])
def test_every_reply_the_grammar_allows_is_a_valid_workflow_that_passes_the_checks(
    ids: tuple[str, ...],
) -> None:
    schema = workflow_schema(ids)
    offered = {s["properties"]["op"]["enum"][0] for s in schema["properties"]["steps"]["items"]["anyOf"]}
    assert ("call_agent" in offered) == bool(ids) and ("route" in offered) == (len(ids) >= 2)
    rng = random.Random(7)
    for _ in range(300):
        reply = json.dumps(_instance(schema, rng))
        spec = parse_workflow(reply)  # raises if the grammar let something invalid through
        assert workflow_problems(spec, set(ids)) == []
        sources = {
            i: AgentSource(i, f"agent {i}", "def forward(self, taskInfo):\n    return 'x'\n") for i in ids
        }
        assert check_agent_code(render_workflow(spec, sources)) == []


def test_the_operator_reference_the_meta_agent_reads_matches_the_code() -> None:
    doc = read_prompt("workflow_operators.md")
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$", doc, flags=re.MULTILINE)
    documented = {op: set(re.findall(r"`(\w+)`", params)) for op, params in rows}
    assert list(documented) == list(OPERATORS)
    for op, model in OPERATORS.items():
        assert documented[op] == set(model.model_fields) - {"op"}, op
    # The example in the reference is itself a valid workflow.
    example = doc.split("```json", 1)[1].split("```", 1)[0]
    assert parse_workflow(example).name == "Vote then verify"


def test_every_operator_combination_of_two_renders_to_code_that_passes_the_static_checks() -> None:
    defaults: dict[str, dict[str, Any]] = {
        "call_agent": {"agent_id": "a1"},
        "route": {"agent_ids": ["a1", "a2"]},
    }
    sources = {
        i: AgentSource(
            i, i, (Path(__file__).resolve().parents[2] / "archives" / "seed" / "cot.py").read_text()
        )
        for i in ("a1", "a2")
    }
    for first, second in itertools.product(OPERATORS, repeat=2):
        spec = parse_workflow(
            {
                "name": f"{first}+{second}",
                "steps": [
                    {"op": first, **defaults.get(first, {})},
                    {"op": second, **defaults.get(second, {})},
                ],
            }
        )
        assert check_agent_code(render_workflow(spec, sources)) == [], (first, second)


@pytest.mark.parametrize("first", FOCUS_OPERATORS)
def test_a_grammar_told_the_first_operator_only_allows_workflows_starting_with_it(first: str) -> None:
    schema = workflow_schema(("a0001", "a0002"), first=first, reflection=True)
    assert list(schema["properties"]) == ["reflection", "thought", "name", "first", "then"]
    rng = random.Random(11)
    for _ in range(100):
        data = _instance(schema, rng)
        data.pop("reflection")
        spec = parse_workflow(json.dumps(data))
        assert spec.steps[0].op == first and len(spec.steps) <= 3
        assert workflow_problems(spec, {"a0001", "a0002"}) == []


@pytest.mark.parametrize("max_calls", [2, 3, 6, 9, 12])
def test_a_grammar_under_a_call_budget_only_allows_workflows_within_it(max_calls: int) -> None:
    schema = workflow_schema(("a0001", "a0002"), max_calls=max_calls)
    rng = random.Random(max_calls)
    worst = 0
    for _ in range(400):
        spec = parse_workflow(json.dumps(_instance(schema, rng)))
        worst = max(worst, model_calls(spec))
        assert workflow_problems(spec, {"a0001", "a0002"}, max_calls=max_calls) == []
    assert 1 < worst <= max_calls
    # The default budget still offers every operator; a small one drops the costliest.
    assert (
        "debate"
        not in {s["properties"]["op"]["enum"][0] for s in schema["properties"]["steps"]["items"]["anyOf"]}
        or max_calls >= 15
    )


def test_the_call_budget_is_a_static_check_with_its_own_number() -> None:
    spec = WorkflowSpec(name="sc", steps=[Generate(samples=5), Vote()])
    assert workflow_problems(spec, set()) == []
    assert workflow_problems(spec, set(), max_calls=4) == [
        "the workflow makes up to 5 model calls per question; keep it at 4 or fewer"
    ]


def test_a_raw_line_break_inside_a_string_is_read_as_text() -> None:
    # llama.cpp's JSON grammar lets the embedded model put a real newline inside a string.
    reply = '{"name": "s", "steps": [{"op": "step_back", "instruction": "Think.\nThen answer."}]}'
    spec = parse_workflow(reply)
    assert spec.steps[0].model_dump()["instruction"] == "Think.\nThen answer."
