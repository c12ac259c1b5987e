"""Infrastructure errors are not answers: an example the provider failed is unscored (kind "provider"),
never a 0, in the sandbox and in-process; errors of the agent's own making stay the agent's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import ProviderAuthError, ProviderError
from agentkit.evaluate import Session, evaluate_agent
from agentkit.evaluate._summary import summarize
from agentkit.records import CODE_FAILURE_KINDS, FAILURE_KINDS, AgentFailure, ExampleResult
from agentkit.sandbox import llm_error_reply
from agentkit.tasks import load_task
from agentkit.testing import FakeOpenAIServer, Fault, Reply, Responder, model_config_for

COT = """
def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = cot([taskInfo], "Think step by step, then answer.")
    return answer
"""

CATCHES = """
def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    try:
        thinking, answer = cot([taskInfo], "Think step by step, then answer.")
    except Exception:
        return "42"
    return answer
"""

FORGES = """
def forward(self, taskInfo):
    raise LLMCallError("the provider is down, honest", kind="provider")
"""

ISOLATIONS = ["trusted", "auto"]


def _fast(server: FakeOpenAIServer, **overrides: Any):
    # How failures are classified, without the circuit breaker: with half the questions failing for good
    # it would hold the others too (tests/llm/test_breaker.py and test_unscored_cli.py test it).
    settings: dict[str, Any] = {
        "timeout_s": 2.0,
        "retry_base_s": 0.01,
        "retry_for_s": 0.5,
        "breaker_failures": None,
    }
    settings.update(overrides)
    return model_config_for(server, **settings)


def _flaky_on(marker: str, solve: Responder):
    """A model that solves arithmetic but whose server fails (HTTP 500) on questions containing `marker`."""

    def respond(body: dict[str, Any]) -> Reply | None:
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if marker in text.split("expression:")[-1]:
            raise RuntimeError("the fake provider is down for this one")
        return solve(body)

    return respond


def test_provider_is_a_failure_kind_but_not_the_agents() -> None:
    assert "provider" in FAILURE_KINDS and "provider" not in CODE_FAILURE_KINDS
    result = ExampleResult(
        example_id="x", answer=None, score=0.0, error=AgentFailure(kind="provider", message="m")
    )
    assert result.unscored
    assert ExampleResult.model_validate_json(result.model_dump_json()).unscored  # kept when read back
    assert not ExampleResult(
        example_id="y", answer=None, score=0.0, error=AgentFailure(kind="llm", message="m")
    ).unscored


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, "provider"),
        (401, "provider"),
        (403, "provider"),
        (429, "provider"),
        (500, "provider"),
        (503, "provider"),
        (400, "llm"),
        (422, "llm"),
    ],
)
def test_which_provider_errors_are_infrastructure(status: int | None, kind: str) -> None:
    assert llm_error_reply(ProviderError("x", status=status))["error_kind"] == kind


def test_summary_counts_only_scored_examples() -> None:
    def result(i: int, score: float, kind: str | None = None) -> ExampleResult:
        error = AgentFailure(kind=kind, message="m") if kind else None  # type: ignore[arg-type]
        return ExampleResult(example_id=str(i), answer=None if kind else "a", score=score, error=error)

    results = [result(0, 1.0), result(1, 1.0), result(2, 0.0, "exception"), result(3, 0.0, "provider")]
    summary = summarize(results)
    assert (summary.n, summary.unscored) == (4, 1)
    assert summary.accuracy.mean == pytest.approx(2 / 3)
    assert summary.error_rate == pytest.approx(1 / 3)
    assert summarize(results[:3]).accuracy == summary.accuracy
    # nothing scored (all unscored, or no examples at all): the interval claims nothing
    for nothing in ([results[3]], []):
        empty = summarize(nothing).accuracy
        assert (empty.low, empty.high) == (0.0, 1.0)


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_examples_the_provider_fails_are_unscored(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str
) -> None:
    task = load_task("gen/arithmetic")
    examples = task.examples[:10]
    marker = next(ch for ch in "0123456789" if any(ch in e.input.split("expression:")[-1] for e in examples))
    failing = {e.id for e in examples if marker in e.input.split("expression:")[-1]}
    assert 0 < len(failing) < len(examples)
    assert arithmetic_server.responder is not None
    arithmetic_server.responder = _flaky_on(marker, arithmetic_server.responder)
    server = arithmetic_server
    async with Session.open(_fast(server), isolation=isolation, cache_dir=cache_dir) as s:  # type: ignore[arg-type]
        result = await evaluate_agent(COT, examples, task, client=s.client, model=s.model, runner=s.runner)
        caught = await evaluate_agent(
            CATCHES, examples, task, client=s.client, model=s.model, runner=s.runner
        )
    for evaluation in (result, caught):
        unscored = {r.example_id for r in evaluation.results if r.unscored}
        assert unscored == failing
        for r in evaluation.results:
            if r.unscored:
                assert r.error is not None and r.error.kind == "provider", r.error
                assert "500" in r.error.message
            else:
                assert r.error is None and r.score == 1.0
        summary = evaluation.summary
        assert summary.unscored == len(failing) and summary.n == len(examples)
        assert summary.accuracy.mean == 1.0 and summary.error_rate == 0.0  # no 0 from the provider


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_a_quota_failure_is_unscored_and_a_bad_request_is_the_agents(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str
) -> None:
    task = load_task("gen/arithmetic")
    server = arithmetic_server
    async with Session.open(
        _fast(server),
        isolation=isolation,  # type: ignore[arg-type]
        cache=False,
        cache_dir=cache_dir,
        workers=1,
    ) as s:
        server.inject(Fault.status(402), Fault.status(422))
        quota = await evaluate_agent(
            COT, task.examples[:1], task, client=s.client, model=s.model, runner=s.runner
        )
        bad = await evaluate_agent(
            COT, task.examples[:1], task, client=s.client, model=s.model, runner=s.runner
        )
    assert quota.results[0].unscored and quota.results[0].error.kind == "provider"  # type: ignore[union-attr]
    assert not bad.results[0].unscored and bad.results[0].error.kind == "llm"  # type: ignore[union-attr]
    assert bad.summary.accuracy.mean == 0.0 and bad.summary.unscored == 0


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("agent", [COT, CATCHES], ids=["lets-it-out", "catches-it"])
async def test_refused_credentials_stop_the_evaluation_whatever_the_agent_does(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str, agent: str
) -> None:
    task = load_task("gen/arithmetic")
    stored: list[ExampleResult] = []
    arithmetic_server.set_down(Fault.status(401))
    async with Session.open(
        _fast(arithmetic_server),
        isolation=isolation,  # type: ignore[arg-type]
        cache=False,
        cache_dir=cache_dir,
        workers=2,
    ) as s:
        with pytest.raises(ProviderAuthError) as info:
            await evaluate_agent(
                agent, task.examples[:6], task, client=s.client, model=s.model, runner=s.runner,
                concurrency=2, on_result=stored.append,
            )  # fmt: skip
    assert info.value.status == 401 and s.model.model in str(info.value)
    assert stored == []  # no example was recorded, not even as unscored
    # The two examples in flight at once asked once each; the four others were never started or refused unsent.
    assert len(arithmetic_server.requests) <= 2


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_agent_code_cannot_claim_the_provider_failed(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str
) -> None:
    task = load_task("gen/arithmetic")
    async with Session.open(_fast(arithmetic_server), isolation=isolation, cache_dir=cache_dir) as s:  # type: ignore[arg-type]
        result = await evaluate_agent(
            FORGES, task.examples[:2], task, client=s.client, model=s.model, runner=s.runner
        )
    for r in result.results:
        assert not r.unscored and r.error is not None and r.error.kind == "exception", r.error
    assert result.summary.unscored == 0


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_time_limit_running_out_while_the_provider_fails_is_unscored(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str
) -> None:
    task = load_task("gen/arithmetic")
    server = arithmetic_server
    server.set_down(Fault.status(503))
    async with Session.open(
        _fast(server, retry_for_s=60.0, retry_max_wait_s=0.1),
        isolation=isolation,  # type: ignore[arg-type]
        cache_dir=cache_dir,
        wall_time_s=2.0,
    ) as s:
        result = await evaluate_agent(
            COT, task.examples[:2], task, client=s.client, model=s.model, runner=s.runner
        )
        server.set_up()
    for r in result.results:
        assert r.unscored and r.error is not None and r.error.kind == "provider", r.error
        assert "still retrying" in r.error.message


SLOW_AFTER_ITS_CALL = """
import time

def forward(self, taskInfo):
    cot = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = cot([taskInfo], "Think step by step, then answer.")
    time.sleep(1.5)
    return answer
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_time_lost_waiting_for_the_provider_does_not_become_the_agents_timeout(
    arithmetic_server: FakeOpenAIServer, cache_dir: Path, isolation: str
) -> None:
    """An agent that fits its time limit on a healthy provider, but not after its call was retried for
    a while, is unscored (to be run again); the same agent too slow on a healthy provider times out."""
    task = load_task("gen/arithmetic")
    server = arithmetic_server
    model = _fast(server, retry_for_s=30.0)
    async with Session.open(
        model,
        isolation=isolation,
        cache_dir=cache_dir,
        wall_time_s=3.0,
        workers=1,  # type: ignore[arg-type]
    ) as s:
        server.inject(Fault.status(503, retry_after=2.0))  # the first call waits 2 s, then is answered
        delayed = await evaluate_agent(
            SLOW_AFTER_ITS_CALL, task.examples[:1], task, client=s.client, model=s.model, runner=s.runner
        )
        healthy = await evaluate_agent(
            SLOW_AFTER_ITS_CALL, task.examples[1:2], task, client=s.client, model=s.model, runner=s.runner
        )
    (first,) = delayed.results
    assert first.unscored and first.error is not None and "delayed a call" in first.error.message, first
    # Without the provider's delay the same agent answers in time (so the test above is about the delay).
    (second,) = healthy.results
    assert second.error is None and not second.unscored, second.error
