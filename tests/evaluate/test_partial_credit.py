"""A task scored by F1 (partial credit) through `evaluate_agent` against the fake server: per-example
scores, the summary's interval, the screening cascade and the paired comparison all take scores in
between 0 and 1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.evaluate import Session, evaluate_agent
from agentkit.tasks import Example, Task, paired_compare, score_interval
from agentkit.testing import FakeOpenAIServer, model_config_for

AGENT = """
def forward(self, taskInfo):
    reader = LLMAgentBase(["thinking", "answer"], "Reader")
    thinking, answer = reader([taskInfo], "MODE Read the passage and answer.")
    return answer
"""

# Question k's gold answer is "red blue green"; the fake model names the first `k % 4` colours
# (mode FULL) or always one colour (mode ONE). F1 of j of the 3 colours: 2j / (j + 3).
COLOURS = ["red", "blue", "green"]
_QUESTION = re.compile(r"Question (\d+):")


def _reply(request: dict[str, Any]) -> str | None:
    text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    match = _QUESTION.search(text)
    if match is None:
        return None
    k = int(match.group(1))
    named = COLOURS[: min(3, k % 4)] if "FULL" in text else COLOURS[:1]
    answer = " ".join(named) if named else "purple"
    return json.dumps({"thinking": "read it", "answer": answer})


def _f1(j: int) -> float:
    return round(2 * j / (j + 3), 2) if j else 0.0


@pytest.fixture
def colour_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_reply) as server:
        yield server


@pytest.fixture
def task() -> Task:
    examples = [
        Example(
            id=f"colours/{k}",
            input=f"Passage: a flag.\nQuestion {k}: Which colours?",
            target="red blue green",
        )
        for k in range(24)
    ]
    return Task(
        name="colours",
        description="Name the colours of a flag.",
        answer_format="Name the colours.",
        examples=examples,
        scorer_name="f1",
    )


async def test_f1_scores_flow_through_the_evaluator(colour_server, tmp_path: Path, task: Task) -> None:
    async with Session.open(
        model_config_for(colour_server), isolation="trusted", cache_dir=tmp_path / "cache"
    ) as s:
        full = await evaluate_agent(
            AGENT.replace("MODE", "FULL"),
            task.examples,
            task,
            client=s.client,
            model=s.model,
            runner=s.runner,
        )
        one = await evaluate_agent(
            AGENT.replace("MODE", "ONE"), task.examples, task, client=s.client, model=s.model, runner=s.runner
        )
    expected = [_f1(min(3, k % 4)) for k in range(24)]
    assert [r.score for r in full.results] == expected
    assert set(expected) == {0.0, 0.5, 0.8, 1.0}
    assert [r.score for r in one.results] == [0.5] * 24
    # The summary is the mean F1 with the interval for bounded scores (not a 0/1 count, not collapsed).
    assert full.summary.accuracy.mean == pytest.approx(sum(expected) / 24)
    assert full.summary.accuracy == score_interval(expected)
    flat = one.summary.accuracy
    assert flat.method == "wilson" and flat.mean == 0.5 and flat.low < 0.35 and flat.high > 0.65
    # Paired comparison of partial credit: the paired bootstrap, no McNemar counts.
    cmp = paired_compare([r.score for r in full.results], [r.score for r in one.results], seed=0)
    assert cmp.method == "paired_bootstrap" and cmp.a_only is None
    assert cmp.difference == pytest.approx(sum(expected) / 24 - 0.5)


async def test_cascade_screens_on_partial_credit(colour_server, tmp_path: Path, task: Task) -> None:
    async with Session.open(
        model_config_for(colour_server), isolation="trusted", cache_dir=tmp_path / "cache"
    ) as s:
        run = dict(client=s.client, model=s.model, runner=s.runner, screen_size=8)
        # Always F1 0.5: the screen's upper bound (~0.8 at n = 8) is below a bar of 0.9, so it stops...
        stopped = await evaluate_agent(AGENT.replace("MODE", "ONE"), task.examples, task, bar=0.9, **run)
        # ... and is above a bar of 0.6, so the agent goes on to every example.
        kept = await evaluate_agent(AGENT.replace("MODE", "ONE"), task.examples, task, bar=0.6, **run)
    assert stopped.summary.stopped_early and stopped.summary.n == 8
    assert 0.6 < score_interval([0.5] * 8).high < 0.9
    assert not kept.summary.stopped_early and kept.summary.n == 24
