"""Scoring agents: run them on examples (in the sandbox), record each example, and summarise.

Public names:
    evaluate_agent: score one agent on a list of examples (optionally as a screening cascade)
    bench: several agents on several tasks, each compared per task with a baseline (a transfer table)
    Judge, with_judge, judge_answer: the LLM judge of tasks scored by ``judge``; agreement for judge-check
    load_agent: an agent file as a plain callable for apps
    Session: the shared client, model and runner of an evaluation
    EvalResult, ExampleResult, EvalSummary, Interval, AgentFailure, LLMCallTrace: the records
"""

from __future__ import annotations

from agentkit.evaluate._agent_file import AgentSpec, read_agent_file, resolve_agent, seed_names
from agentkit.evaluate._bench import BenchRow, BenchTable, BenchTask, bench, pick_baseline
from agentkit.evaluate._evaluator import evaluate_agent, evaluate_one
from agentkit.evaluate._judge import Agreement, Judge, agreement, judge_answer, judge_messages, with_judge
from agentkit.evaluate._loaded import AgentAnswer, AgentUsage, LoadedAgent, load_agent
from agentkit.evaluate._runner import AgentRunner, LLMHandler
from agentkit.evaluate._session import Session
from agentkit.evaluate._summary import summarize
from agentkit.records import (
    AgentFailure,
    EvalResult,
    EvalSummary,
    ExampleResult,
    Interval,
    Judgement,
    LLMCallTrace,
)

__all__ = [
    "AgentAnswer",
    "AgentFailure",
    "AgentRunner",
    "AgentSpec",
    "AgentUsage",
    "Agreement",
    "BenchRow",
    "BenchTable",
    "BenchTask",
    "EvalResult",
    "EvalSummary",
    "ExampleResult",
    "Interval",
    "Judge",
    "Judgement",
    "LLMCallTrace",
    "LLMHandler",
    "LoadedAgent",
    "Session",
    "agreement",
    "bench",
    "evaluate_agent",
    "evaluate_one",
    "judge_answer",
    "judge_messages",
    "load_agent",
    "pick_baseline",
    "read_agent_file",
    "resolve_agent",
    "seed_names",
    "summarize",
    "with_judge",
]
