"""ADAS compatibility: `LLMAgentBase([], ...)` is legal. The call is made (and counted) and returns an
empty list, in-process and in the sandbox; `ask` still needs a field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.evaluate import Session, evaluate_agent
from agentkit.runtime import run_agent
from agentkit.tasks import Example, Task
from agentkit.testing import FakeOpenAIServer, model_config_for, requested_fields

# As two agents of ADAS's published MGSM archive do: an agent with no output fields, called for nothing.
EMPTY_FIELDS_AGENT = """
def forward(self, taskInfo):
    observer = LLMAgentBase([], 'Observer Agent')
    observed = observer([taskInfo], 'Take note of the quantities in the task.')
    solver = LLMAgentBase(['thinking', 'answer'], 'Solver Agent')
    thinking, answer = solver([taskInfo] + observed, 'Solve the task.')
    return f"{type(observed).__name__}:{len(observed)}:{answer.content}"
"""


def test_empty_field_list_makes_the_call_and_returns_an_empty_list(backend: Any) -> None:
    answer = run_agent(EMPTY_FIELDS_AGENT, "What is 6 times 7?", backend=backend, answer_format="")
    assert answer == "list:0:42"
    silent, solver = backend.requests
    assert silent["fields"] == [] and solver["fields"] == ["thinking", "answer"]
    assert "What is 6 times 7?" in silent["messages"][-1]["content"]
    assert "empty JSON object {}" in silent["messages"][0]["content"]
    json.dumps(silent)  # the request survives the sandbox pipe


def test_ask_still_needs_a_field(backend: Any) -> None:
    code = "def forward(self, taskInfo):\n    return ask(taskInfo, 'Answer.', fields=[])['answer']\n"
    with pytest.raises(ValueError, match="at least one output field"):
        run_agent(code, "What is 6 times 7?", backend=backend, answer_format="")


def _reply(request: dict[str, Any]) -> str:
    fields = requested_fields(request)
    if not fields:
        return "{}"
    return json.dumps({f: ("42" if "answer" in f else "six sevens") for f in fields})


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_reply) as fake:
        yield fake


@pytest.mark.sandbox
async def test_empty_field_list_in_the_sandbox(server: FakeOpenAIServer, tmp_path: Path) -> None:
    task = Task(
        name="products",
        description="Multiply.",
        answer_format="Reply with the number only.",
        examples=[Example(id="p/0", input="What is 6 times 7?", target="list:0:42")],
        scorer_name="exact",
    )
    async with Session.open(model_config_for(server), isolation="auto", cache_dir=tmp_path / "cache") as s:
        assert s.isolation_level != "trusted"
        result = await evaluate_agent(
            EMPTY_FIELDS_AGENT, task.examples, task, client=s.client, model=s.model, runner=s.runner
        )
    (record,) = result.results
    assert record.error is None, record.error
    assert record.answer == "list:0:42" and record.score == 1.0
    assert record.llm_calls == 2 and len(server.requests) == 2
    assert record.trace[0].agent_name == "Observer Agent" and record.trace[0].parse_error is None
    assert record.trace[0].reply == "{}"
