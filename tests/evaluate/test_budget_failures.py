"""A model call the run's budget refuses fails the example with kind "budget", in the sandbox and in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.evaluate import Session, evaluate_agent
from agentkit.llm import Budget
from agentkit.tasks import load_task
from agentkit.testing import FakeOpenAIServer, model_config_for

ONE_CALL = """
def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = cot([taskInfo], "Think step by step, then answer.")
    return answer
"""


@pytest.mark.parametrize("isolation", ["trusted", "auto"])
async def test_a_call_over_budget_is_a_budget_failure(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str
) -> None:
    task = load_task("gen/arithmetic")
    async with Session.open(
        model_config_for(arithmetic_server),
        isolation=isolation,  # type: ignore[arg-type]
        cache=False,
        cache_dir=cache_dir,
        budget=Budget(max_calls=0),
    ) as s:
        assert (s.isolation_level == "trusted") == (isolation == "trusted")
        result = await evaluate_agent(
            ONE_CALL, task.examples[:2], task, client=s.client, model=s.model, runner=s.runner
        )
    assert len(result.results) == 2
    for r in result.results:
        assert r.answer is None and r.score == 0.0
        assert r.error is not None and r.error.kind == "budget", r.error
        assert "BudgetExceeded" in r.error.message
    assert arithmetic_server.requests == []  # refused before anything was sent
