"""The evaluator against a real fake HTTP server, with agents run in-process and in the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.evaluate import Session, evaluate_agent
from agentkit.tasks import load_task
from agentkit.testing import FakeOpenAIServer, model_config_for

ADAS_COT = """
def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = cot([taskInfo], "Think step by step, then answer.")
    return answer
"""

ADAS_WRONG = ADAS_COT.replace("Think step by step", "WRONG on purpose. Think step by step")

SAMPLER = """
def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "Sampler", temperature=0.9)
    answers = [agent([taskInfo], "Answer.")[1].content for _ in range(3)]
    return max(set(answers), key=answers.count)
"""

CRASHES_ON_NEGATIVE = """
def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = cot([taskInfo], "Answer.")
    if answer.content.startswith("-"):
        raise ValueError("negative answers are not handled")
    return answer
"""


@pytest.fixture
def task():
    return load_task("gen/arithmetic")


async def test_scores_match_the_fake_models_correctness(arithmetic_server, cache_dir, task) -> None:
    examples = task.examples[:12]
    async with Session.open(
        model_config_for(arithmetic_server), isolation="trusted", cache_dir=cache_dir
    ) as s:
        right = await evaluate_agent(
            ADAS_COT, examples, task, client=s.client, model=s.model, runner=s.runner
        )
        wrong = await evaluate_agent(
            ADAS_WRONG, examples, task, client=s.client, model=s.model, runner=s.runner
        )
    assert [r.score for r in right.results] == [1.0] * 12
    assert [r.score for r in wrong.results] == [0.0] * 12
    assert right.summary.accuracy.mean == 1.0 and wrong.summary.accuracy.mean == 0.0
    first = right.results[0]
    assert first.llm_calls == 1 and len(first.trace) == 1
    assert first.answer == examples[0].target
    assert "Compute the value" in first.trace[0].prompt
    assert first.cost_usd is None  # the fake model has no price: never a made-up number
    assert len(arithmetic_server.requests) == 24


async def test_cascade_stops_a_hopeless_agent_after_screening(arithmetic_server, cache_dir, task) -> None:
    examples = task.examples[:30]
    async with Session.open(
        model_config_for(arithmetic_server), isolation="trusted", cache_dir=cache_dir
    ) as s:
        result = await evaluate_agent(
            ADAS_WRONG,
            examples,
            task,
            client=s.client,
            model=s.model,
            runner=s.runner,
            screen_size=6,
            bar=0.5,
        )
        promising = await evaluate_agent(
            ADAS_COT, examples, task, client=s.client, model=s.model, runner=s.runner, screen_size=6, bar=0.5
        )
    assert result.summary.stopped_early and result.summary.n == 6
    assert not promising.summary.stopped_early and promising.summary.n == 30
    assert len(arithmetic_server.requests) == 36


async def test_finished_results_are_reused_not_rerun(arithmetic_server, cache_dir, task) -> None:
    examples = task.examples[:10]
    async with Session.open(
        model_config_for(arithmetic_server), isolation="trusted", cache=False, cache_dir=cache_dir
    ) as s:
        first = await evaluate_agent(
            ADAS_COT, examples[:4], task, client=s.client, model=s.model, runner=s.runner
        )
        done = {r.example_id: r for r in first.results}
        seen: list[str] = []
        full = await evaluate_agent(
            ADAS_COT,
            examples,
            task,
            client=s.client,
            model=s.model,
            runner=s.runner,
            done=done,
            on_result=lambda r: seen.append(r.example_id),
        )
    assert len(arithmetic_server.requests) == 10  # 4 + the 6 not done before
    assert sorted(seen) == sorted(e.id for e in examples[4:])
    assert [r.example_id for r in full.results] == [e.id for e in examples]


async def test_repeated_samples_are_distinct_and_cached_in_order(arithmetic_server, cache_dir, task) -> None:
    examples = task.examples[:3]
    async with Session.open(
        model_config_for(arithmetic_server), isolation="trusted", cache_dir=cache_dir
    ) as s:
        await evaluate_agent(SAMPLER, examples, task, client=s.client, model=s.model, runner=s.runner)
        assert len(arithmetic_server.requests) == 9  # 3 identical prompts per example, each really sent
        again = await evaluate_agent(SAMPLER, examples, task, client=s.client, model=s.model, runner=s.runner)
    assert len(arithmetic_server.requests) == 9  # the re-run is answered from the cache
    assert all(t.cached for r in again.results for t in r.trace)
    assert all(r.score == 1.0 for r in again.results)


@pytest.mark.sandbox
async def test_agent_failures_are_recorded_and_the_rest_continues(arithmetic_server, cache_dir, task) -> None:
    examples = task.examples[:16]
    assert any(e.target.startswith("-") for e in examples) and any(
        not e.target.startswith("-") for e in examples
    )
    async with Session.open(model_config_for(arithmetic_server), isolation="auto", cache_dir=cache_dir) as s:
        result = await evaluate_agent(
            CRASHES_ON_NEGATIVE, examples, task, client=s.client, model=s.model, runner=s.runner
        )
    for example, record in zip(examples, result.results, strict=True):
        if example.target.startswith("-"):
            assert record.error is not None and record.error.kind == "exception"
            assert "negative answers are not handled" in record.error.traceback + record.error.message
            assert record.score == 0.0
        else:
            assert record.error is None and record.score == 1.0
    negatives = sum(e.target.startswith("-") for e in examples)
    assert result.summary.error_rate == pytest.approx(negatives / 16)


def test_load_agent_in_a_plain_script(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path, monkeypatch
) -> None:
    import agentkit

    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    agent_file = tmp_path / "my_agent.py"
    agent_file.write_text('"""name: Test CoT\n\nAnswers directly."""\n' + ADAS_COT)
    for trusted in (True, False):
        with agentkit.load_agent(
            agent_file, model=model_config_for(arithmetic_server), trusted=trusted
        ) as agent:
            reply = agent("Compute the value of this expression: 2 * (3 + 4)")
            assert agent.name == "Test CoT"
        assert reply.error is None and reply.answer == "14"
        assert reply.usage.llm_calls == 1 and len(reply.trace) == 1


async def test_a_model_name_is_resolved_not_failed_in_every_example(
    arithmetic_server, cache_dir, task, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name where a ModelConfig was expected used to fail every example as the agent's own error
    # ("'str' object has no attribute 'model'").
    monkeypatch.setenv("OPENAI_BASE_URL", arithmetic_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    examples = task.examples[:3]
    async with Session.open(
        model_config_for(arithmetic_server), isolation="trusted", cache_dir=cache_dir
    ) as s:
        result = await evaluate_agent(
            ADAS_COT, examples, task, client=s.client, model="openai/fake", runner=s.runner
        )
        assert [r.score for r in result.results] == [1.0] * 3
        with pytest.raises(TypeError, match="model must be a ModelConfig or a model name, not int"):
            await evaluate_agent(ADAS_COT, examples, task, client=s.client, model=5, runner=s.runner)  # type: ignore[arg-type]
