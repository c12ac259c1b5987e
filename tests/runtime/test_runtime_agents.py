"""Agents end to end through `run_agent` with a scripted backend: seeds, ADAS-style code, isolation."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from agentkit.runtime import (
    Info,
    InvalidAgentCode,
    LLMCallError,
    Session,
    load_seed_agents,
    run_agent,
    runtime_namespace,
)

FORMAT = "Reply with the number only."
QUESTION = "What is 6 times 7?"

# The most calls each seed makes with the default scripted replies (the critic never approves).
EXPECTED_CALLS = {
    "cot": 1,
    "cot_sc": 5,
    "debate": 5,
    "program_of_thought": 2,
    "quality_diversity": 4,
    "role_assignment": 2,
    "self_discover": 3,
    "self_refine": 5,
    "step_back": 2,
}

SEEDS = load_seed_agents()


def test_every_expected_seed_exists() -> None:
    assert sorted(a.key for a in SEEDS) == sorted(EXPECTED_CALLS)


@pytest.mark.parametrize("seed", SEEDS, ids=[a.key for a in SEEDS])
def test_seed_agent_runs_end_to_end(seed: Any, backend: Any) -> None:
    answer = run_agent(seed.code, QUESTION, backend=backend, answer_format=FORMAT)
    assert answer == "42"
    assert len(backend.requests) == EXPECTED_CALLS[seed.key]
    for request in backend.requests:
        assert QUESTION in request["messages"][-1]["content"]
        assert set(request) == {"messages", "fields", "temperature", "agent_name", "sample_index"}
    # The final answer-producing call carries the task's answer format.
    assert FORMAT in backend.requests[-1]["messages"][0]["content"]


@pytest.mark.parametrize("seed", SEEDS, ids=[a.key for a in SEEDS])
def test_seed_file_runs_as_written(seed: Any, scripted: Any) -> None:
    answer = run_agent(seed.path.read_text(), QUESTION, backend=scripted(), answer_format=FORMAT)
    assert answer == "42"


def test_self_consistency_votes_over_distinct_samples(scripted: Any) -> None:
    by_sample = ["41", "42", "42", "7", "42"]

    def reply(request: dict[str, Any]) -> dict[str, Any]:
        fields = {"thinking": "t", "answer": by_sample[request["sample_index"]]}
        return {"fields": fields, "raw": "", "parse_error": None}

    backend = scripted(reply)
    code = next(a.code for a in SEEDS if a.key == "cot_sc")
    assert run_agent(code, QUESTION, backend=backend, answer_format=FORMAT) == "42"
    assert sorted(r["sample_index"] for r in backend.requests) == [0, 1, 2, 3, 4]
    assert {r["temperature"] for r in backend.requests} == {0.8}


def test_program_of_thought_fixes_failing_code_once(scripted: Any) -> None:
    programs = iter(["answer = 6 * undefined_name", "answer = 6 * 7"])

    def reply(request: dict[str, Any]) -> dict[str, Any]:
        if "code" in request["fields"]:
            fields = {"thinking": "t", "code": next(programs)}
        else:
            fields = {"thinking": "t", "answer": "42"}
        return {"fields": fields, "raw": "", "parse_error": None}

    backend = scripted(reply)
    code = next(a.code for a in SEEDS if a.key == "program_of_thought")
    assert run_agent(code, QUESTION, backend=backend, answer_format=FORMAT) == "42"
    prompts = backend.prompts()
    assert len(prompts) == 3
    assert "NameError" in prompts[1]
    assert "42" in prompts[2]


def test_adas_style_agent_runs_unchanged(scripted: Any, adas_style_agent: str) -> None:
    def reply(request: dict[str, Any]) -> dict[str, Any]:
        if request["fields"] == ["feedback", "correct"]:
            # JSON true, as models often send it, must read as the string 'True'.
            fields: dict[str, Any] = {"correct": True, "feedback": "fine"}
        else:
            fields = {"answer": 42, "thinking": "6 * 7"}
        return {"fields": fields, "raw": json.dumps(fields), "parse_error": None}

    backend = scripted(reply)
    assert run_agent(adas_style_agent, QUESTION, backend=backend, answer_format=FORMAT) == "42"
    assert len(backend.requests) == 5  # 3 CoT + refine + one critic that approves
    assert all("gpt-4o" not in json.dumps(r) for r in backend.requests)
    critic = backend.requests[-1]
    assert "You are a strict math teacher." in critic["messages"][0]["content"]
    assert "### answer by Refine Agent #5\n42" in critic["messages"][1]["content"]


def test_output_infos_follow_output_fields_not_json_order(scripted: Any) -> None:
    def reply(request: dict[str, Any]) -> dict[str, Any]:
        # Keys deliberately in the reverse of the requested order.
        fields = {name: f"value of {name}" for name in reversed(request["fields"])}
        return {"fields": fields, "raw": json.dumps(fields), "parse_error": None}

    backend = scripted(reply)
    ns = runtime_namespace(Session(backend, answer_format=FORMAT))
    agent = ns["LLMAgentBase"](["thinking", "feedback", "answer"], "Ordered Agent")
    task = Info("task", "User", QUESTION, -1)
    thinking, feedback, answer = agent([task], "Go.", 2)
    assert [thinking.name, feedback.name, answer.name] == ["thinking", "feedback", "answer"]
    assert answer == Info("answer", "Ordered Agent #1", "value of answer", 2)
    assert feedback.content == "value of feedback"
    assert list(ns["ask"](task, fields=("answer", "thinking"))) == ["answer", "thinking"]


def test_missing_fields_fall_back_to_raw_text_for_the_last_field(scripted: Any) -> None:
    def reply(request: dict[str, Any]) -> dict[str, Any]:
        return {"fields": {"thinking": ""}, "raw": "The answer is 42", "parse_error": "no JSON object"}

    ns = runtime_namespace(Session(scripted(reply)))
    thinking, answer = ns["LLMAgentBase"](["thinking", "answer"], "A")([Info("task", "User", "q", -1)], "")
    assert (thinking.content, answer.content) == ("", "The answer is 42")


def test_module_globals_do_not_leak_between_runs(backend: Any) -> None:
    code = """
COUNTER = []

def forward(self, taskInfo):
    COUNTER.append(1)
    LLMAgentBase.tampered = True
    agent = LLMAgentBase(['answer'], 'Counting Agent')
    (answer,) = agent([taskInfo], 'Answer.')
    return f"{len(COUNTER)} {answer.content} {agent.id}"
"""
    first = run_agent(code, QUESTION, backend=backend, answer_format=FORMAT)
    second = run_agent(code, QUESTION, backend=backend, answer_format=FORMAT)
    assert first == second == "1 42 1"
    # Same code, same question -> byte-identical requests, so the host's cache can serve a rerun.
    assert backend.requests[0] == backend.requests[1]
    probe = "def forward(self, taskInfo):\n    return str(hasattr(LLMAgentBase, 'tampered'))\n"
    assert run_agent(probe, QUESTION, backend=backend, answer_format=FORMAT) == "False"


def test_forward_is_bound_as_a_method_and_task_info_is_adas_shaped(backend: Any) -> None:
    code = """
def forward(self, taskInfo):
    assert type(self).__name__ == 'AgentSystem'
    assert self.forward.__func__ is forward
    return taskInfo
"""
    assert run_agent(code, QUESTION, backend=backend, answer_format="") == QUESTION


def test_llm_error_response_raises_llm_call_error_in_agent_code(scripted: Any) -> None:
    backend = scripted(lambda request: {"error": "BudgetExceeded: 0 calls left", "error_kind": "llm"})
    caught = """
def forward(self, taskInfo):
    try:
        ask(taskInfo)
    except LLMCallError as exc:
        return 'caught ' + str(exc)
"""
    assert (
        run_agent(caught, QUESTION, backend=backend, answer_format="")
        == "caught BudgetExceeded: 0 calls left"
    )
    uncaught = "def forward(self, taskInfo):\n    return LLMAgentBase(['answer'], 'A')([taskInfo], 'x')[0]\n"
    with pytest.raises(LLMCallError, match="BudgetExceeded") as info:
        run_agent(uncaught, QUESTION, backend=backend, answer_format="")
    assert info.value.kind == "llm"


def test_backend_exception_becomes_llm_call_error(scripted: Any) -> None:
    def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("pipe closed")

    code = "def forward(self, taskInfo):\n    return ask(taskInfo)['answer']\n"
    with pytest.raises(LLMCallError, match="ConnectionError: pipe closed"):
        run_agent(code, QUESTION, backend=scripted(broken), answer_format="")


def test_call_limit_per_run(backend: Any) -> None:
    code = "def forward(self, taskInfo):\n    return [ask(taskInfo) for _ in range(5)][0]\n"
    with pytest.raises(LLMCallError, match="limit of 3"):
        run_agent(code, QUESTION, backend=backend, answer_format="", max_llm_calls=3)
    assert len(backend.requests) == 3


def test_code_without_forward_is_invalid(backend: Any) -> None:
    with pytest.raises(InvalidAgentCode):
        run_agent("x = 1\n", QUESTION, backend=backend, answer_format="")


def test_agent_exceptions_propagate_with_source_lines(backend: Any) -> None:
    import traceback

    code = "def forward(self, taskInfo):\n    return 1 / 0\n"
    with pytest.raises(ZeroDivisionError) as info:
        run_agent(code, QUESTION, backend=backend, answer_format="")
    assert "return 1 / 0" in "".join(traceback.format_exception(info.value))


def test_agent_code_may_call_the_model_from_many_threads(scripted: Any) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def reply(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            if in_flight == 8:
                release.set()
        release.wait(timeout=10)
        with lock:
            in_flight -= 1
        question = request["messages"][-1]["content"].split("## Task\n", 1)[1].split("\n", 1)[0]
        return {"fields": {"answer": question.upper()}, "raw": "", "parse_error": None}

    code = """
from concurrent.futures import ThreadPoolExecutor

def forward(self, taskInfo):
    agent = LLMAgentBase(['answer'], 'Echo Agent')
    words = taskInfo.content.split()

    def one(word):
        return agent([Info('task', 'User', word, -1)], 'Echo it.')[0].content

    with ThreadPoolExecutor(max_workers=len(words)) as pool:
        return ' '.join(pool.map(one, words))
"""
    question = "a b c d e f g h"
    assert run_agent(code, question, backend=scripted(reply), answer_format="") == question.upper()
    assert peak == 8
