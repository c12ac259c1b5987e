"""DROP's F1 against values computed by hand from the published normalisation (tokens after lower-casing,
punctuation and article removal, numbers as floats; set F1; a missed gold number scores 0; 2 decimals)."""

from __future__ import annotations

import pytest

from agentkit.tasks import drop_f1, load_task, score_f1
from agentkit.tasks._drop import accepted_answers, normalise_answer

# (output, target with accepted answers separated by "|", F1 worked out by hand)
HAND_COMPUTED = [
    # articles and case: {chicago, bears} vs {bears}: P 1/2, R 1 -> 2/3
    ("the Chicago Bears", "Bears", 0.67),
    ("Bears", "The Bears", 1.0),
    ("An apple", "apple", 1.0),
    # numbers are compared as numbers: 4 = 4.0, 1,000 = 1000, $5 = 5, 50% = 50
    ("4.0", "4", 1.0),
    ("1,000", "1000", 1.0),
    ("$5 million", "5 million", 1.0),
    ("50%", "50", 1.0),
    # the published quirk: "26.7%" is not a number, so its punctuation goes, the point too: 267 != 26.7
    ("26.7%", "26.7", 0.0),
    # ... but a number word is not a number: {4.0} vs {four} share nothing
    ("4", "four", 0.0),
    # extra words around the right number: {34.0, yards} vs {34.0}: P 1/2, R 1 -> 2/3
    ("34 yards", "34", 0.67),
    # a wrong number scores 0 even though "yards" is shared
    ("35 yards", "34 yards", 0.0),
    # hyphens split tokens: {42.0, yard, field, goal} vs {42.0} ("a" is an article): P 1/4, R 1 -> 2/5
    ("a 42-yard field goal", "42", 0.4),
    ("Jean-Claude", "Jean Claude", 1.0),
    # punctuation inside words goes
    ("St. Louis Rams!", "St Louis Rams", 1.0),
    # bags are sets: a repeated word counts once
    ("Rams Rams", "rams", 1.0),
    # partial overlap: {2nd, quarter, touchdown} vs {second, quarter}: P 1/3, R 1/2 -> 2/5
    ("the 2nd quarter touchdown", "second quarter", 0.4),
    # P 1/2, R 1/4 -> 1/3, rounded to 2 decimals
    ("x y", "x z w q", 0.33),
    # several gold numbers: one shared is enough to score; {20.0, and, 30.0} vs {10.0, and, 20.0} -> 2/3
    ("20 and 30", "10 and 20", 0.67),
    # several accepted answers: the best one counts
    ("Pakistani and Filipino", "Pakistanis and Filipinos|Pakistani and Filipino", 1.0),
    # {pakistanis} vs {pakistanis, and, filipinos}: P 1, R 1/3 -> 1/2; vs the second answer: 0
    ("Pakistanis", "Pakistanis and Filipinos|Pakistani and Filipino", 0.5),
    # {1000.0, people} vs "1000": 2/3; vs "one thousand": no shared token
    ("1,000 people", "1000|one thousand", 0.67),
    # the final answer is read from a worked answer
    ("The passage lists three groups.\nSo the answer is 7.", "7", 1.0),
    ("Answer: St. Louis Rams", "St. Louis Rams", 1.0),
    # nothing said scores 0
    ("", "Bears", 0.0),
    (None, "Bears", 0.0),
]


@pytest.mark.parametrize(("output", "target", "expected"), HAND_COMPUTED)
def test_f1_matches_hand_computed_values(output: str | None, target: str, expected: float) -> None:
    assert score_f1(output, target) == expected


def test_normalisation_steps() -> None:
    assert normalise_answer("The 1,000 Red-Sox!") == "1000.0 red sox"
    assert normalise_answer("an 4.50") == "4.5"
    assert drop_f1("the", "a") == 1.0  # both bags empty, as the published script scores it


def test_accepted_answers_are_split_and_stripped() -> None:
    assert accepted_answers("  1452|  1552|1452| ") == ["1452", "1552"]


def test_f1_task_scores_are_partial(data_dir) -> None:
    drop = load_task("drop", data_dir=data_dir)
    example = drop.examples[1]
    assert example.target == "Pakistanis and Filipinos|Pakistani and Filipino"
    assert drop.score_example("Pakistanis", example) == 0.5
    assert drop.scorer_name == "f1"
