"""The shape of the prompts both APIs build, and how replies become values."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.runtime import Info, LLMAgentBase, LLMCallError, Session, answer_text, ask, runtime_namespace
from agentkit.runtime._prompting import fields_from_response, normalise_fields


def _call(backend: Any, *, answer_format: str = "Reply with one number.") -> dict[str, Any]:
    ns = runtime_namespace(Session(backend, answer_format=answer_format))
    critic = ns["LLMAgentBase"](
        ["thinking", "final_answer", "verdict"], "Critic Agent", role="strict examiner"
    )
    solver = ns["LLMAgentBase"](["answer"], "Solver Agent")
    task = Info("task", "User", "What is 2 + 2?", -1)
    (solution,) = solver([task], "Solve it.")
    critic([task, solution, Info("hint", "Teacher", "Count carefully.", 1)], "Judge the solution.", 0)
    mine = critic([task], "Warm up.")[1]
    assert mine.author == "Critic Agent #1"
    critic([task, mine], "Again.")
    return backend.requests[1]


def test_system_message_states_role_and_exact_reply_format(backend: Any) -> None:
    system = _call(backend)["messages"][0]["content"]
    assert system.startswith("You are a strict examiner.\n")
    assert (
        'Reply with a JSON object with exactly these keys: "thinking", "final_answer", "verdict".' in system
    )
    assert '- "final_answer": Reply with one number.' in system
    assert '- "thinking": ' in system
    assert '- "verdict": Your verdict.' in system
    # Only fields whose name contains "answer" get the task's format.
    assert system.count("Reply with one number.") == 1


def test_user_message_renders_task_then_sections_then_instruction(backend: Any) -> None:
    user = _call(backend)["messages"][1]["content"]
    assert user == (
        "## Task\nWhat is 2 + 2?\n\n"
        "### answer by Solver Agent #2\n42\n\n"
        "### hint by Teacher, round 2\nCount carefully.\n\n"
        "Judge the solution."
    )
    own = backend.requests[-1]["messages"][1]["content"]
    assert "### final_answer by Critic Agent #1 (you)\n42" in own


def test_request_carries_name_temperature_and_fields(backend: Any) -> None:
    request = _call(backend)
    assert request["agent_name"] == "Critic Agent"
    assert request["temperature"] == 0.5
    assert request["fields"] == ["thinking", "final_answer", "verdict"]
    assert request["sample_index"] == 0


def test_articles_in_role_sentence(backend: Any) -> None:
    ns = runtime_namespace(Session(backend))
    for role, expected in [
        ("expert mathematician", "You are an expert mathematician."),
        ("the judge", "You are the judge."),
        ("You are terse.", "You are terse."),
    ]:
        ns["ask"]("q", role=role)
        assert backend.requests[-1]["messages"][0]["content"].startswith(expected + "\n")


def test_ask_with_described_fields_and_plain_prompt(backend: Any) -> None:
    ns = runtime_namespace(Session(backend, answer_format="One word."))
    reply = ns["ask"](
        "Name a colour.",
        "Be brief.",
        fields={"plan": "How you will choose.", "answer": "The colour."},
        temperature=0.1,
        name="Colour Agent",
    )
    assert reply == {"plan": "some plan", "answer": "42"}
    request = backend.requests[-1]
    assert request["messages"][1]["content"] == "Name a colour.\n\nBe brief."
    assert '- "plan": How you will choose.' in request["messages"][0]["content"]
    assert '- "answer": The colour. One word.' in request["messages"][0]["content"]
    assert (request["agent_name"], request["temperature"]) == ("Colour Agent", 0.1)


def test_repeated_identical_prompts_get_new_sample_indexes(backend: Any) -> None:
    ns = runtime_namespace(Session(backend))
    for _ in range(3):
        ns["ask"]("same question")
    ns["ask"]("same question", temperature=0.9)
    assert [r["sample_index"] for r in backend.requests] == [0, 1, 2, 0]


def test_nested_and_non_info_inputs_are_accepted(backend: Any) -> None:
    ns = runtime_namespace(Session(backend))
    task = Info("task", "User", "q", -1)
    answers = [Info("answer", "A #1", "1", -1), Info("answer", "B #2", 2, -1)]
    ns["LLMAgentBase"](["answer"], "X")([task, answers, "a plain note", None], "Pick.")
    user = backend.requests[-1]["messages"][1]["content"]
    assert (
        user
        == "## Task\nq\n\n### answer by A #1\n1\n\n### answer by B #2\n2\n\n### Note\na plain note\n\nPick."
    )


def test_unbound_api_explains_itself() -> None:
    with pytest.raises(LLMCallError, match="run_agent"):
        ask("q")
    with pytest.raises(LLMCallError, match="run_agent"):
        LLMAgentBase(["answer"], "A")([], "x")


def test_field_validation() -> None:
    assert normalise_fields("answer") == {"answer": ""}
    with pytest.raises(ValueError):
        normalise_fields([])
    with pytest.raises(ValueError):
        normalise_fields(["answer", "answer"])


def test_fields_from_response_coerces_and_folds_case() -> None:
    response = {"fields": {"Answer": 7, "extra": "x", "items": [1, 2]}, "raw": "r", "parse_error": None}
    assert fields_from_response(response, ["answer", "items", "thinking"]) == {
        "answer": "7",
        "items": "[1, 2]",
        "thinking": "r",
    }


def test_answer_text_variants() -> None:
    assert answer_text(Info("answer", "A", 42, -1)) == "42"
    assert answer_text(None) == ""
    assert answer_text([Info("thinking", "A", "t", -1), Info("answer", "A", "x", -1)]) == "x"
    assert answer_text({"thinking": "t", "answer": "y"}) == "y"
    assert answer_text(3.5) == "3.5"
