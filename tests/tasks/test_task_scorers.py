"""The scoring rules, one by one, on hand-written outputs."""

from __future__ import annotations

import pytest

from agentkit.errors import TaskError
from agentkit.tasks import (
    choice_letter,
    extract_final_answer,
    get_scorer,
    score_dyck,
    score_exact,
    score_exact_ci,
    score_label,
    score_multiple_choice,
    score_numeric,
    score_words,
)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("18", "18"),
        ("So the answer is 18.", "18"),
        ("Let's think.\nStep 1...\nSo the answer is (B). I am confident.", "(B)"),
        ("The final answer is: **Yes**", "Yes"),
        ("Answer: `] ) >`", "] ) >"),
        ("reasoning\n\nNo.", "No"),
        ("the answer is clear. So the answer is valid.", "valid"),
        ("We get \\boxed{\\frac{3}{4}} in the end", "\\frac{3}{4}"),
        ("#### 72", "72"),
        ("", ""),
        (None, ""),
    ],
)
def test_extract_final_answer(output: str | None, expected: str) -> None:
    assert extract_final_answer(output) == expected


@pytest.mark.parametrize(
    ("output", "target"),
    [
        ("18", "18"),
        ("18.0", "18"),
        ("$18", "18"),
        ("18.", "18"),
        ("Answer: 18", "18"),
        ("\\boxed{18}", "18"),
        ("So the answer is 18.", "18"),
        ("So the answer is $18.00.", "18"),
        ("The answer is 1,080 dollars.", "1080"),
        ("1080", "1,080"),
        ("She ends with -5 apples.", "-5"),
        ("The answer is −5", "-5"),
        ("3 - 8 = -5", "-5"),
        ("The answer is 3 * 6 = 18.", "18"),
        ("He has 3 pens and 5 pencils, so 8 in total", "8"),
        ("#### 72", "72"),
        ("Answer: $-12", "-12"),
        ("The answer is 18, not 20", "18"),
        ("The answer is 18 (that is 6 * 3)", "18"),
        ("Answer: x = 7", "7"),
    ],
)
def test_numeric_accepts(output: str, target: str) -> None:
    assert score_numeric(output, target) == 1.0


@pytest.mark.parametrize(
    ("output", "target"),
    [
        ("17", "18"),
        ("-18", "18"),
        ("18.5", "18"),
        ("10-5", "-5"),  # a subtraction, not minus five
        ("1,2", "12"),  # a list, not a thousands separator
        ("no idea", "18"),
        ("", "18"),
        (None, "18"),
        ("The answer is 18, not 20", "20"),
        ("The answer is 18 (that is 6 * 3)", "3"),
    ],
)
def test_numeric_rejects(output: str | None, target: str) -> None:
    assert score_numeric(output, target) == 0.0


@pytest.mark.parametrize(
    "output",
    [
        "(A)",
        "A",
        "A)",
        "So the answer is (A).",
        "The answer is A",
        "Answer: A",
        "**(A)**",
        "(A) The Front Page",
        "option (a)",
        "Option A",
        "Thinking...\n(B) looks wrong.\nSo the answer is (A).",
    ],
)
def test_multiple_choice_forms(output: str) -> None:
    assert score_multiple_choice(output, "(A)") == 1.0
    assert score_multiple_choice(output, "(B)") == 0.0


@pytest.mark.parametrize("output", ["A cat", "a", "", "I think so", "(AB)", "The answer is unclear"])
def test_multiple_choice_rejects_non_letters(output: str) -> None:
    assert score_multiple_choice(output, "(A)") == 0.0


def test_choice_letter() -> None:
    assert choice_letter("(c)") == "(C)"
    assert choice_letter("C") == "(C)"
    assert choice_letter("c") is None  # a bare lower-case letter is a word, not an option
    assert choice_letter("Monsters, Inc") is None


def test_multiple_choice_text_target() -> None:
    assert score_multiple_choice("So the answer is Monsters, Inc.", "Monsters, Inc") == 1.0
    assert score_multiple_choice("monsters,   inc", "Monsters, Inc") == 1.0
    assert score_multiple_choice("Monsters", "Monsters, Inc") == 0.0
    # The option letter is accepted through Task.extra_answers, not by the scorer alone.
    assert score_multiple_choice("(A)", "Monsters, Inc") == 0.0


def test_label_case_rules() -> None:
    for out in ("Yes", "yes", "YES", "So the answer is yes.", "Answer: **Yes**"):
        assert score_label(out, "Yes") == 1.0
        assert score_label(out, "yes") == 1.0
        assert score_label(out, "No") == 0.0
    assert score_label("valid", "invalid") == 0.0
    assert score_label("invalid", "valid") == 0.0
    assert score_label("So the answer is invalid.", "invalid") == 1.0
    assert score_label("Yes, because it is", "Yes") == 0.0


def test_free_text_letter_is_not_turned_into_a_choice() -> None:
    assert score_words("A", "A") == 1.0
    assert score_words("(A)", "A") == 0.0
    assert score_exact("A", "A") == 1.0
    assert score_exact("(A)", "A") == 0.0


def test_words_whitespace() -> None:
    target = "apple banana cherry"
    for out in (
        "apple banana cherry",
        "apple  banana\tcherry",
        "apple, banana, cherry",
        "So the answer is apple banana cherry.",
    ):
        assert score_words(out, target) == 1.0
    assert score_words("banana apple cherry", target) == 0.0
    assert score_words("apple banana", target) == 0.0
    assert score_words("Apple banana cherry", target) == 0.0


def test_dyck_whitespace() -> None:
    for out in ("] ) >", "])>", "], ), >", "So the answer is ] ) >.", "Answer: ]  )  >"):
        assert score_dyck(out, "] ) >") == 1.0
    assert score_dyck("] >", "] ) >") == 0.0
    assert score_dyck(") ] >", "] ) >") == 0.0


def test_exact_and_exact_ci() -> None:
    assert score_exact("So the answer is Paris.", "Paris") == 1.0
    assert score_exact("paris", "Paris") == 0.0
    assert score_exact_ci("paris", "Paris") == 1.0
    assert score_exact("Answer: Mr. Smith", "Mr. Smith") == 1.0  # a period inside the answer is kept


def test_unknown_scorer() -> None:
    with pytest.raises(TaskError, match="unknown scorer"):
        get_scorer("nope")
