"""A small finished run built straight through the archive API: seeds, two generations of children, a
failed candidate, an agent with hostile text, search and test results, reviews, reflections, rules,
monitor events and usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.archive import Archive, RuleEvidence
from agentkit.evaluate import AgentFailure, ExampleResult, summarize

COT_CODE = '''"""name: Chain of Thought

Think step by step, then answer.
"""


def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = agent([taskInfo], "Think step by step and then solve the task.")
    return answer
'''

DIRECT_CODE = """def forward(self, taskInfo):
    agent = LLMAgentBase(["answer"], "Direct Agent")
    (answer,) = agent([taskInfo], "Answer directly.")
    return answer
"""

REFINE_CODE = """def forward(self, taskInfo):
    solver = LLMAgentBase(["thinking", "answer"], "Solver")
    critic = LLMAgentBase(["feedback", "correct"], "Critic")
    thinking, answer = solver([taskInfo], "Solve it step by step.")
    for i in range(2):
        feedback, correct = critic([taskInfo, thinking, answer], "Check the answer. Say True if correct.")
        if correct.content == "True":
            break
        thinking, answer = solver([taskInfo, thinking, answer, feedback], "Fix the answer.", i)
    return answer
"""

EVIL_CODE = """def forward(self, taskInfo):
    note = "</pre></details><script>alert('pwned')</script>"
    agent = LLMAgentBase(["answer"], "Evil <img src=x onerror=alert(1)>")
    (answer,) = agent([taskInfo], note)
    return answer
"""

BROKEN_CODE = """def forward(self, taskInfo):
    agent = LLMAgentBase(["answer"], "Broken")
    return agent([taskInfo], "go")[5]
"""

EVIL_NAME = "Evil <script>alert('name')</script> Agent"


def _results(pattern: str, *, prefix: str = "q", fail_kind: str | None = None) -> list[ExampleResult]:
    """One result per character: '1' right, '0' wrong, 'x' failed with `fail_kind`."""
    out = []
    for i, ch in enumerate(pattern):
        error = None
        if ch == "x":
            error = AgentFailure(kind=fail_kind or "exception", message="IndexError: list index out of range")
        out.append(
            ExampleResult(
                example_id=f"{prefix}{i}",
                answer=None if error else ("42" if ch == "1" else "41"),
                score=1.0 if ch == "1" else 0.0,
                error=error,
                llm_calls=0 if error else 2,
                prompt_tokens=0 if error else 120,
                completion_tokens=0 if error else 30,
                cost_usd=0.0 if error else 0.0003,
                latency_s=0.2,
            )
        )
    return out


def _evaluate(
    archive: Archive, agent_id: str, split: str, pattern: str, *, status: str | None = None
) -> None:
    results = _results(pattern, prefix="t" if split == "test" else "q")
    with archive.transaction():
        archive.record_results(agent_id, split, results)
        archive.record_summary(agent_id, split, summarize(results, seed=0))
        if status is not None:
            archive.set_status(agent_id, status)  # type: ignore[arg-type]


def build_run(run_dir: Path) -> dict[str, str]:
    """Build the run; returns name -> id."""
    config = {
        "task": "gen/arithmetic",
        "model": "openai/fake",
        "meta_model": "openai/fake-meta",
        "search_size": 20,
        "test_size": 20,
        "screen_size": 5,
        "generations": 2,
        "seed": 0,
        "api_key": "sk-should-never-show",
        "extra": {"monitor": True},
    }
    ids: dict[str, str] = {}
    with Archive.create(run_dir, config) as archive:
        cot = archive.add_agent(
            "Chain of Thought", COT_CODE, thought="Think step by step.", origin="seed", generation=0
        )
        direct = archive.add_agent("Direct", DIRECT_CODE, thought="Just answer.", origin="seed", generation=0)
        ids["Chain of Thought"], ids["Direct"] = cot.id, direct.id
        _evaluate(archive, cot.id, "search", "11101101101110110110", status="evaluated")
        _evaluate(archive, direct.id, "search", "10001001000100010001", status="evaluated")
        archive.log_event("generation_start", {"parents": [cot.id, direct.id]}, generation=1)
        refine = archive.add_agent(
            "Self-Refine Critic",
            REFINE_CODE,
            thought="Let a critic check the answer and refine it twice.",
            parents=[cot.id, direct.id],
            generation=1,
        )
        ids["Self-Refine Critic"] = refine.id
        archive.add_review(
            refine.id, 1, "review", prompt_excerpt="Is it new?", reply="Yes; it adds a critic."
        )
        _evaluate(archive, refine.id, "screen", "11111")
        _evaluate(archive, refine.id, "search", "11111101111111011111", status="evaluated")
        broken = archive.add_agent(
            "Broken Indexer",
            BROKEN_CODE,
            thought="Index the result list.",
            parents=[cot.id],
            generation=1,
            meta={"error": "IndexError: list index out of range"},
        )
        ids["Broken Indexer"] = broken.id
        archive.add_review(
            broken.id, 1, "debug", reply="Use [0] instead.", error_shown="IndexError: list index out of range"
        )
        results = _results("xxxxx", fail_kind="exception")
        with archive.transaction():
            archive.record_results(broken.id, "screen", results)
            archive.set_status(broken.id, "failed")
        archive.add_reflection(
            broken.id,
            1,
            {
                "fault": "agent",
                "first_wrong_step": "indexing the reply list",
                "pattern": "index out of range",
                "example_ids": ["q0", "q1"],
            },
            outcome="crashed",
        )
        archive.add_reflection(
            refine.id, 1, {"fault": "agent", "pattern": "critic catches arithmetic slips"}, outcome="improved"
        )
        archive.log_event(
            "monitor",
            {
                "coverage": 0.7,
                "distinct_behaviours": 3,
                "novelty": 0.5,
                "beat_parent_share": 0.5,
                "screen_full_correlation": 0.8,
                "balance": 0.4,
            },
            generation=1,
        )
        rule = archive.add_rule(
            "success_pattern",
            "A critic that checks the answer before returning it raises accuracy on arithmetic.",
            generation=1,
            scope="arithmetic word problems",
            example="Self-Refine Critic",
            status="active",
            evidence=[RuleEvidence(agent_id=refine.id, generation=1, score_change=0.2, example_ids=["q3"])],
        )
        archive.add_rule(
            "unresolved_error",
            "Indexing past the end of a reply list crashes.",
            generation=1,
            status="candidate",
        )
        archive.log_event("manual", {"text": f"## Success patterns\n- {rule.text}"}, generation=2)
        archive.log_event("generation_start", {}, generation=2)
        evil = archive.add_agent(
            EVIL_NAME,
            EVIL_CODE,
            thought="<b>bold</b> & <script>alert('thought')</script>",
            parents=[refine.id],
            generation=2,
        )
        ids["evil"] = evil.id
        _evaluate(archive, evil.id, "search", "10101010101010101010", status="evaluated")
        archive.log_event(
            "monitor",
            {
                "coverage": 0.85,
                "distinct_behaviours": 4,
                "novelty": 0.3,
                "beat_parent_share": 0.0,
                "screen_full_correlation": 0.6,
                "balance": 0.55,
            },
            generation=2,
        )
        # Final: the top two by search lower bound are scored once on the sealed test split.
        _evaluate(archive, refine.id, "test", "11111011111101111011")
        _evaluate(archive, cot.id, "test", "11011101101110111011")
        for gen, role, model, calls, cost in (
            (0, "agent", "openai/fake", 80, 0.012),
            (1, "meta", "openai/fake-meta", 6, 0.05),
            (1, "agent", "openai/fake", 90, 0.013),
            (1, "reflection", "openai/fake-meta", 2, 0.004),
            (2, "meta", "openai/fake-meta", 3, 0.03),
            (2, "agent", "openai/fake", 40, 0.006),
        ):
            archive.add_usage(
                gen,
                role,
                model,
                calls=calls,
                prompt_tokens=calls * 100,
                completion_tokens=calls * 20,
                cost_usd=cost,
            )
        archive.log_event("search_end", {"reason": "generations done"}, generation=2)
    return ids


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    run_dir = tmp_path / "run"
    ids = build_run(run_dir)
    return run_dir, ids
