"""Builders of records shared by the archive tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

from agentkit.records import AgentFailure, EvalSummary, ExampleResult, Interval, LLMCallTrace

CODE = '''def forward(self, taskInfo):
    """Answer directly."""
    agent = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = agent([taskInfo], "Think step by step.")
    return answer
'''


def make_results(n: int, *, correct: set[int] | None = None, prefix: str = "ex") -> list[ExampleResult]:
    """`n` results; examples whose index is in `correct` score 1, the rest fail in assorted ways."""
    correct = set(range(0, n, 2)) if correct is None else correct
    out = []
    for i in range(n):
        ok = i in correct
        out.append(
            ExampleResult(
                example_id=f"{prefix}{i}",
                answer=str(i) if ok else None,
                score=1.0 if ok else 0.0,
                error=None
                if ok
                else AgentFailure(kind="exception", message=f"boom {i}", traceback="Trace\n  x"),
                llm_calls=2,
                prompt_tokens=100 + i,
                completion_tokens=20,
                cost_usd=0.001 * i,
                latency_s=0.5,
                trace=[LLMCallTrace(agent_name="CoT Agent", prompt=f"q{i}", reply="{}", prompt_tokens=100)],
            )
        )
    return out


def make_summary(mean: float, low: float, high: float, n: int = 10) -> EvalSummary:
    """A summary with the given accuracy interval."""
    return EvalSummary(
        n=n,
        accuracy=Interval(mean=mean, low=low, high=high),
        error_rate=1 - mean,
        llm_calls=2 * n,
        prompt_tokens=100 * n,
        completion_tokens=20 * n,
        cost_usd=0.01,
        latency_p50_s=0.5,
        latency_p95_s=0.9,
    )
