"""Tasks from Python through `evaluate_agent` and `load_agent(task=...)`, against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentkit
from agentkit.evaluate import Session, evaluate_agent
from agentkit.tasks import Example, load_task, register_task, unregister_task
from agentkit.testing import FakeOpenAIServer, model_config_for

ADAS_COT = """
def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = cot([taskInfo], "Think step by step, then answer.")
    return answer
"""


def within_one(answer: str, example: Example) -> float:
    """Full credit for the exact value, half for one off (a partial-credit Python scorer)."""
    value = agentkit.tasks.final_number(answer)
    if value is None:
        return 0.0
    gap = abs(value - int(example.target))
    return 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0


async def test_python_scorer_through_the_evaluator(arithmetic_server, cache_dir: Path) -> None:
    source = load_task("gen/arithmetic").examples[:8]
    # Targets shifted by 0 or 1: the fake model's exact answers earn 1.0 or 0.5.
    records = [{"input": e.input, "target": int(e.target) + i % 2} for i, e in enumerate(source)]
    task = agentkit.Task.from_records(records, scorer=within_one, name="near")
    async with Session.open(
        model_config_for(arithmetic_server), isolation="trusted", cache_dir=cache_dir
    ) as s:
        result = await evaluate_agent(
            ADAS_COT, task.examples, task, client=s.client, model=s.model, runner=s.runner
        )
    assert result.task == "py/near"
    assert [r.score for r in result.results] == [1.0, 0.5] * 4
    assert result.summary.accuracy.mean == 0.75 and result.summary.accuracy.method == "wilson"


def test_load_agent_takes_a_task_object_or_its_registered_name(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    agent_file = tmp_path / "cot.py"
    agent_file.write_text('"""name: CoT"""\n' + ADAS_COT)
    task = agentkit.Task.from_records(
        [{"input": "Compute the value of this expression: 1 + 1", "target": 2}],
        scorer="numeric",
        name="fmt",
        answer_format="Reply with digits only; THE-FORMAT-MARK.",
    )
    name = register_task(task)
    try:
        for given in (task, name):
            with agentkit.load_agent(
                agent_file, model=model_config_for(arithmetic_server), task=given, trusted=True
            ) as agent:
                reply = agent("Compute the value of this expression: 2 * (3 + 4)")
            assert reply.answer == "14"
            assert "THE-FORMAT-MARK" in arithmetic_server.requests[-1]["messages"][0]["content"]
    finally:
        unregister_task(name)
