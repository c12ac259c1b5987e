"""Records of an evaluation: what happened on each example and what it adds up to.

They cross package boundaries (sandbox -> evaluator -> archive -> report), so they are pydantic models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field, model_validator

FailureKind = Literal[
    "syntax",  # the agent code does not parse or has no forward()
    "exception",  # forward() raised
    "timeout",  # wall or CPU time limit
    "memory",  # address-space limit
    "output_limit",  # printed or returned too much
    "killed",  # the worker died for another reason (signal, seccomp)
    "llm",  # a model call failed for good because of the request (e.g. a 400 for what the agent sent)
    "provider",  # the provider failed (auth, quota, rate limits or 5xx after retries, transport, timeouts)
    "budget",  # the run's budget refused the next model call
    "sandbox",  # the sandbox itself failed
]

CODE_FAILURE_KINDS: frozenset[str] = frozenset(
    {"syntax", "exception", "timeout", "memory", "output_limit", "killed"}
)
"""Failures caused by the agent's own code (as opposed to the model, the budget or the sandbox)."""

UNSCORED_KINDS: frozenset[str] = frozenset({"provider", "budget"})
"""Failures that say nothing about the agent, so the example is left unscored (`ExampleResult.unscored`)
rather than scored 0, and is run again later: the provider failed a model call, or the budget refused
one (the agent then ran without a reply it asked for)."""

FAILURE_KINDS: frozenset[str] = CODE_FAILURE_KINDS | {"llm", "provider", "budget", "sandbox"}
"""Every value of `FailureKind`."""


class AgentFailure(BaseModel):
    """Why an agent produced no answer for one example."""

    kind: FailureKind
    """What class of failure this is."""
    message: str
    """One line saying what went wrong."""
    traceback: str = ""
    """The traceback text from inside the agent code, where there is one."""


class LLMCallTrace(BaseModel):
    """One model call made by agent code, as seen by the host."""

    agent_name: str = ""
    """The name the agent code gave this call (LLMAgentBase's agent_name)."""
    prompt: str
    """The messages sent, flattened to text and truncated to the configured size."""
    reply: str
    """The model's raw reply, truncated to the configured size."""
    prompt_tokens: int = 0
    """Prompt tokens billed (0 on a cache hit)."""
    completion_tokens: int = 0
    """Completion tokens billed (0 on a cache hit)."""
    cost_usd: float | None = None
    """Cost of the call, None where the model has no known price."""
    cached: bool = False
    """True when the reply came from the cache."""
    latency_s: float = 0.0
    """Wall time of the call."""
    parse_error: str | None = None
    """Set when the reply did not parse into the requested fields."""


class Judgement(BaseModel):
    """What an LLM judge made of one answer (tasks scored by ``judge``): the median of its samples."""

    score: float
    """The score used: the median of `scores`, 0.0 to 1.0 (0.0 when no sample could be read)."""
    scores: list[float] = Field(default_factory=list)
    """Each readable judgment's score, on 0 to 1 (the judge's 0 to 10 divided by 10), in sample order."""
    rationales: list[str] = Field(default_factory=list)
    """The judge's short reason for each readable judgment, in the same order."""
    model: str = ""
    """The judge model."""
    samples: int = 0
    """Judgments asked for."""
    unreadable: int = 0
    """Judgments whose reply held no score (left out of the median)."""
    cost_usd: float | None = 0.0
    """What the judgments cost, None when the judge model has no known price."""


class ExampleResult(BaseModel):
    """The outcome of running one agent on one example."""

    example_id: str
    """Stable id of the example within its task."""
    answer: str | None
    """The agent's final answer as text; None when it failed."""
    score: float
    """The task scorer's verdict, 0.0 to 1.0 (0.0 on failure; meaningless when `unscored`)."""
    error: AgentFailure | None = None
    """Set when the agent failed on this example (or, for an unscored one, why it was not scored)."""
    unscored: bool = False
    """True when the example could not be scored for reasons outside the agent: a model call failed
    because of the provider (authentication, quota, rate limits or server errors after retries,
    transport failures, timeouts of the provider; `error.kind` "provider" says which), or the budget
    refused one of its model calls (`error.kind` "budget"). Such an example counts in no accuracy,
    interval, comparison or error rate; it is run again later (in the same search when the provider
    answers again, on ``--resume``, or by rerunning ``eval``; with more budget for a refused one). Set
    from `error` on construction, so records read back from an archive keep it."""
    llm_calls: int = 0
    """Model calls made by the agent on this example."""
    prompt_tokens: int = 0
    """Prompt tokens billed for this example."""
    completion_tokens: int = 0
    """Completion tokens billed for this example."""
    cost_usd: float | None = None
    """Total cost, None when some call had no known price."""
    latency_s: float = 0.0
    """Wall time from start to answer."""
    trace: list[LLMCallTrace] = Field(default_factory=list)
    """The model calls made, in order."""
    judgement: Judgement | None = None
    """For tasks scored by an LLM judge: its scores and rationales (None for every other scorer)."""

    @model_validator(mode="after")
    def _unscored_from_error(self) -> ExampleResult:
        if self.error is not None and self.error.kind in UNSCORED_KINDS:
            self.unscored = True
        if self.unscored:
            self.score = 0.0
        return self


class Interval(BaseModel):
    """A point estimate with a confidence interval."""

    mean: float
    """The point estimate."""
    low: float
    """Lower bound of the interval."""
    high: float
    """Upper bound of the interval."""
    confidence: float = 0.95
    """Confidence level of the interval."""
    method: Literal["wilson", "bootstrap"] | None = None
    """How the interval was computed: Wilson's score interval (scores in [0, 1], partial credit at its
    mean) or the seeded percentile bootstrap (other values, differences); None in records written
    before this was stored."""


class EvalSummary(BaseModel):
    """What an evaluation adds up to."""

    n: int
    """Examples evaluated, unscored ones included."""
    accuracy: Interval
    """Mean score with its 95% interval (Wilson's for scores in [0, 1], else bootstrap), over the
    scored examples only."""
    error_rate: float
    """Share of the scored examples on which the agent failed."""
    unscored: int = 0
    """Examples left unscored because the provider failed or the budget refused a model call (see
    `ExampleResult.unscored`): they are in `n` but not in `accuracy` or `error_rate`. An evaluation
    with some is incomplete."""
    llm_calls: int
    """Model calls in total."""
    prompt_tokens: int
    """Prompt tokens in total."""
    completion_tokens: int
    """Completion tokens in total."""
    cost_usd: float | None
    """Total cost, None when some call had no known price."""
    latency_p50_s: float
    """Median per-example latency."""
    latency_p95_s: float
    """95th percentile per-example latency."""
    stopped_early: bool = False
    """True when the cascade stopped after the screening subset."""


class EvalResult(BaseModel):
    """Per-example records plus their summary."""

    agent: str
    """The agent's name."""
    task: str
    """The task's name."""
    split: str = "search"
    """Which split was evaluated (search, test, or a name the caller chose)."""
    results: list[ExampleResult]
    """One record per example evaluated."""
    summary: EvalSummary
    """Aggregates over `results`."""


def failed_every_example(results: Sequence[ExampleResult]) -> ExampleResult | None:
    """The first of `results` when the agent failed every example it was scored on (unscored ones
    left out: the provider failed those), else None (some answer came back, or nothing was scored)."""
    scored = [r for r in results if not r.unscored]
    if scored and all(r.error is not None for r in scored):
        return scored[0]
    return None
