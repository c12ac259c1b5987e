"""The meta prompt stays bounded however large the archive grows."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from agentkit._resources import read_prompt
from agentkit.archive import Archive
from agentkit.evaluate import AgentFailure, ExampleResult
from agentkit.evaluate._summary import summarize
from agentkit.search import (
    NoHooks,
    SearchConfig,
    SearchContext,
    SearchRun,
    load_search_task,
    offline_run,
    preview_meta_prompt,
    prompt_tokens,
)
from agentkit.search._prompt import AgentCard, FailureExample, PromptLimits, build_meta_prompt

LONG_CODE = (
    "def forward(self, taskInfo):\n"
    + "".join(
        f"    step{i} = LLMAgentBase(['thinking', 'answer'], 'Step {i}')([taskInfo], 'Work on part {i} "
        f"of the question very carefully and check every intermediate number twice.')\n"
        for i in range(60)
    )
    + "    return step0[1]\n"
)


class HugeManual(NoHooks):
    def manual_text(self, ctx: SearchContext, generation: int) -> str:
        return "Rule: always check the arithmetic twice. " * 2000


def fill_archive(archive: Archive, n_agents: int, examples: list[Any]) -> None:
    rng = random.Random(0)
    for i in range(n_agents):
        agent = archive.add_agent(
            f"Agent number {i} with a rather long descriptive name " * 2,
            LONG_CODE + f"# variant {i}\n",
            thought="This design splits the problem into many steps and verifies each. " * 40,
            generation=1 + i // 10,
            status="evaluated",
        )
        results = []
        for example in examples:
            ok = rng.random() < 0.5
            error = None
            if not ok and rng.random() < 0.3:
                error = AgentFailure(
                    kind="exception", message="ValueError: " + "x" * 3000, traceback="tb " * 2000
                )
            results.append(
                ExampleResult(
                    example_id=example.id,
                    answer=None if error else ("7" * 500 if not ok else example.target),
                    score=1.0 if ok else 0.0,
                    error=error,
                )
            )
        archive.record_results(agent.id, "search", results)
        archive.record_summary(agent.id, "search", summarize(results))


def make_run(archive: Archive, config: SearchConfig) -> SearchRun:
    return offline_run(archive, config)


@pytest.mark.parametrize("n_agents", [10, 100, 200])
def test_meta_prompt_stays_under_the_bound(tmp_path: Path, n_agents: int) -> None:
    config = SearchConfig(
        task="gen/arithmetic",
        search_size=30,
        test_size=10,
        inspirations=6,
        prompt=PromptLimits(failures=4),
        generations=50,
    )
    examples = load_search_task(config)[1].search
    with Archive.create(tmp_path / "run", {"search": config.model_dump(mode="json")}) as archive:
        fill_archive(archive, n_agents, examples)
        generation = 1 + n_agents // 10 + 1
        messages = preview_meta_prompt(archive, generation=generation, hooks=HugeManual())
        briefing = make_run(archive, config).briefing
        selection = briefing.select(briefing.pool(generation), generation, 0, 6)
        assert len(briefing.pool(generation)) == n_agents
    size = prompt_tokens(messages)
    assert size <= config.prompt.max_tokens < 8000
    text = messages[-1]["content"]
    # The main parent is always shown, with its failures; the manual is in, clipped.
    assert f"id {selection.parents[0]}" in text
    assert "Questions it got wrong" in text
    assert "Rule: always check the arithmetic twice." in text
    assert "more characters cut" in text
    # The runtime reference is shown word for word.
    assert read_prompt("runtime_api.md").strip() in messages[0]["content"]


def test_builder_drops_least_important_agents_last() -> None:
    cards = [
        AgentCard(
            id=f"a{i:04d}",
            name=f"Agent {i}",
            generation=1,
            thought="idea " * 500,
            code=LONG_CODE,
            score="0.50 [0.30, 0.70] on 20 questions",
            label="Main parent" if i == 0 else "Also shown",
            failures=tuple(FailureExample(question="q " * 400, target="1", answer="2") for _ in range(3)),
        )
        for i in range(40)
    ]
    limits = PromptLimits(max_tokens=3000)
    messages = build_meta_prompt(
        runtime_api="API " * 1000,
        task_description="Compute things.",
        answer_format="A number.",
        cards=cards,
        limits=limits,
    )
    assert prompt_tokens(messages) <= 3000
    text = messages[-1]["content"]
    assert "id a0000" in text  # the main parent survives; the tail was dropped
    assert "id a0039" not in text


def test_shrinking_keeps_the_manual_whole_and_never_raises_a_limit() -> None:
    manual = "\n".join(
        f"- [r{i:03d}, 2 agents] Rule number {i}: check the sign of every product." for i in range(40)
    )
    cards = [
        AgentCard(
            id=f"a{i:04d}",
            name=f"Agent {i}",
            generation=1,
            thought="idea " * 500,
            code=LONG_CODE,
            score="0.50 [0.30, 0.70] on 20 questions",
            label="Main parent" if i == 0 else "Also shown",
            failures=(FailureExample(question="q " * 400, target="1", answer="2"),),
        )
        for i in range(6)
    ]
    limits = PromptLimits(max_tokens=3000, code_chars=200, example_chars=50, manual_chars=len(manual))
    messages = build_meta_prompt(
        runtime_api="API " * 1000,
        task_description="Compute things.",
        answer_format="A number.",
        cards=cards,
        manual=manual,
        limits=limits,
    )
    text = messages[-1]["content"]
    assert manual in text  # compiled from whole rules to fit its budget: never cut further
    # A limit set below the shrinking floors stays where it was set.
    assert f"[{len(LONG_CODE.strip()) - 200} more characters cut]" in text
    assert "q " * 30 not in text


def test_the_partner_is_said_to_cover_failures_only_when_it_does() -> None:
    cards = [
        AgentCard(id=f"a000{i}", name=f"Agent {i}", generation=1, thought="t", code="c", score="s")
        for i in range(2)
    ]

    def user(gain: int | None) -> str:
        return build_meta_prompt(
            runtime_api="API", task_description="T", answer_format="F", cards=cards, partner_gain=gain
        )[-1]["content"]

    assert "which solves 3 questions the main parent fails" in user(3)
    for gain in (0, None):
        assert "fails" not in user(gain).split("# What to do")[1].split("Study")[0]
        assert "second parent (Agent 1, id a0001)" in user(gain)


def test_the_meta_agent_is_allowed_the_imports_the_runtime_allows() -> None:
    from agentkit.runtime import AGENT_MODULES, check_agent_code
    from agentkit.search._prompt import system_prompt

    system = system_prompt(read_prompt("runtime_api.md"))
    assert "Do not import" not in system
    assert "importable" in system
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n\ndef forward(self, taskInfo):\n    return 'x'\n"
    )
    assert "concurrent" in AGENT_MODULES and check_agent_code(code) == []
