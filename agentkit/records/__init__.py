"""Shared records at the bottom of the layering: what happened on each example, what it adds up to,
the kinds of failure, and the one `clip`. sandbox, tasks, evaluate, archive, search and reflect all
import from here, and this package imports nothing of agentkit's.

Public names:
    ExampleResult, EvalResult, EvalSummary, Interval, AgentFailure, LLMCallTrace, Judgement: the records
    FailureKind, CODE_FAILURE_KINDS, FAILURE_KINDS, UNSCORED_KINDS: the kinds of failure
    failed_every_example: the first result when an agent failed every scored example
    clip: cut a long text to a size, saying how much was cut
    printable: control characters of a text shown as escapes
"""

from __future__ import annotations

from agentkit.records._results import (
    CODE_FAILURE_KINDS,
    FAILURE_KINDS,
    UNSCORED_KINDS,
    AgentFailure,
    EvalResult,
    EvalSummary,
    ExampleResult,
    FailureKind,
    Interval,
    Judgement,
    LLMCallTrace,
    failed_every_example,
)
from agentkit.records._text import clip, printable

__all__ = [
    "CODE_FAILURE_KINDS",
    "FAILURE_KINDS",
    "UNSCORED_KINDS",
    "AgentFailure",
    "EvalResult",
    "EvalSummary",
    "ExampleResult",
    "FailureKind",
    "Interval",
    "Judgement",
    "LLMCallTrace",
    "clip",
    "failed_every_example",
    "printable",
]
