"""What each built-in task is: description for the meta agent, answer format for agents, scorer.

The texts are our own words. They are data about the benchmarks rather than prompt templates, so they
live beside the loader that uses them.
"""

from __future__ import annotations

from typing import NamedTuple


class BBHSpec(NamedTuple):
    description: str
    answer_format: str
    scorer: str


_MC = "multiple_choice"
_LETTER = (
    "Give the letter of the correct option in parentheses, e.g. (A), as the final answer, "
    "with no other words."
)
_YES_NO = "Answer with exactly one word, Yes or No."

BBH_TASKS: dict[str, BBHSpec] = {
    "boolean_expressions": BBHSpec(
        "Evaluate a Boolean expression built from True, False, not, and, or and parentheses.",
        "Answer with exactly one word, True or False.",
        "label",
    ),
    "causal_judgement": BBHSpec(
        "Read a short story about events and people and decide how a typical person would answer a "
        "question about what caused an outcome.",
        _YES_NO,
        "label",
    ),
    "date_understanding": BBHSpec(
        "Reason about calendar dates described in a few sentences and pick the date asked for, in "
        "MM/DD/YYYY form, from the options.",
        _LETTER,
        _MC,
    ),
    "disambiguation_qa": BBHSpec(
        "Decide what a pronoun in a sentence refers to, or whether its reference is ambiguous.",
        _LETTER,
        _MC,
    ),
    "dyck_languages": BBHSpec(
        "Given the start of a sequence of brackets of four kinds, write the closing brackets that complete "
        "it so that every bracket is properly closed.",
        "Answer with only the missing closing brackets, in order, separated by single spaces, e.g. ] ) >.",
        "dyck",
    ),
    "formal_fallacies": BBHSpec(
        "Decide whether an argument stated in words follows deductively from its premises.",
        "Answer with exactly one word, valid or invalid.",
        "label",
    ),
    "geometric_shapes": BBHSpec(
        "Read an SVG path element and name the shape it draws.",
        _LETTER,
        _MC,
    ),
    "hyperbaton": BBHSpec(
        "Pick the sentence whose adjectives are in the natural English order (opinion, size, age, shape, "
        "colour, origin, material, purpose).",
        _LETTER,
        _MC,
    ),
    "logical_deduction_three_objects": BBHSpec(
        "Place three objects in order from a few clues about their relative positions, then pick the "
        "true statement.",
        _LETTER,
        _MC,
    ),
    "logical_deduction_five_objects": BBHSpec(
        "Place five objects in order from clues about their relative positions, then pick the true "
        "statement.",
        _LETTER,
        _MC,
    ),
    "logical_deduction_seven_objects": BBHSpec(
        "Place seven objects in order from clues about their relative positions, then pick the true "
        "statement.",
        _LETTER,
        _MC,
    ),
    "movie_recommendation": BBHSpec(
        "Given a few films someone liked, pick the film from the options that is most like them.",
        _LETTER,
        _MC,
    ),
    "multistep_arithmetic_two": BBHSpec(
        "Compute the value of a nested arithmetic expression with integers, some negative, and the "
        "operations +, -, *.",
        "Answer with only the resulting integer, e.g. -42.",
        "numeric",
    ),
    "navigate": BBHSpec(
        "Follow a list of moves and turns and decide whether they lead back to the starting point.",
        _YES_NO,
        "label",
    ),
    "object_counting": BBHSpec(
        "Count how many things of a kind (fruits, animals, instruments, ...) a person lists owning.",
        "Answer with only the number, written in digits, e.g. 7.",
        "numeric",
    ),
    "penguins_in_a_table": BBHSpec(
        "Answer a question about a small table of penguins (name, age, height, weight), sometimes after "
        "rows are added or removed.",
        _LETTER,
        _MC,
    ),
    "reasoning_about_colored_objects": BBHSpec(
        "Answer a question about the colours, counts and positions of objects lying on a surface.",
        _LETTER,
        _MC,
    ),
    "ruin_names": BBHSpec(
        "Pick the one-letter edit of an artist's or film's name that makes a funny new name.",
        _LETTER,
        _MC,
    ),
    "salient_translation_error_detection": BBHSpec(
        "Compare a German sentence with its English translation and name the kind of error the "
        "translation contains.",
        _LETTER,
        _MC,
    ),
    "snarks": BBHSpec(
        "Pick which of two nearly identical sentences is sarcastic.",
        _LETTER,
        _MC,
    ),
    "sports_understanding": BBHSpec(
        "Decide whether a sentence about an athlete doing something in a sport is plausible.",
        "Answer with exactly one word, yes or no.",
        "label",
    ),
    "temporal_sequences": BBHSpec(
        "From a person's schedule during one day, find the time window in which they could have gone "
        "somewhere.",
        _LETTER,
        _MC,
    ),
    "tracking_shuffled_objects_three_objects": BBHSpec(
        "Three people each hold an item and swap items in pairs several times; say who holds what at the "
        "end.",
        _LETTER,
        _MC,
    ),
    "tracking_shuffled_objects_five_objects": BBHSpec(
        "Five people each hold an item and swap items in pairs several times; say who holds what at the end.",
        _LETTER,
        _MC,
    ),
    "tracking_shuffled_objects_seven_objects": BBHSpec(
        "Seven people each hold an item and swap items in pairs several times; say who holds what at the "
        "end.",
        _LETTER,
        _MC,
    ),
    "web_of_lies": BBHSpec(
        "Follow a chain of people who each say whether the previous one tells the truth, and decide "
        "whether the last one tells the truth.",
        _YES_NO,
        "label",
    ),
    "word_sorting": BBHSpec(
        "Sort a list of English words alphabetically.",
        "Answer with only the sorted words, separated by single spaces, on one line.",
        "words",
    ),
}

BBH_PREAMBLE = (
    "BIG-Bench Hard (BBH) task {name}: {description} The data holds {size_hint} test questions with "
    "exact gold answers; scoring is exact match of the final answer."
)

GSM8K_DESCRIPTION = (
    "GSM8K: grade-school maths word problems that take two to eight steps of basic arithmetic. Every "
    "gold answer is an integer; scoring compares the final number of the answer exactly."
)
GSM8K_ANSWER_FORMAT = "Answer with only the final number, in digits, without units, e.g. 42."

MGSM_DESCRIPTION = (
    "MGSM (English): 250 grade-school maths word problems with integer answers. They are the same "
    "questions and answers as GSM8K test rows 0 to 249, so do not count them as an independent set. "
    "Scoring compares the final number of the answer exactly."
)

# --- the tasks of ADAS's reading-comprehension domain and math transfer study -------------------------

DROP_DESCRIPTION = (
    "DROP (dev set as ADAS used it): reading comprehension that needs discrete reasoning over a passage: "
    "counting, adding or subtracting numbers, comparing, sorting dates and picking spans. Each question "
    "comes with its passage; some have several accepted answers. Scoring is DROP's token F1 (0 to 1, "
    "partial credit), the best over the accepted answers; a wrong number scores 0."
)
DROP_ANSWER_FORMAT = (
    "Answer with only the answer itself: a number, a date, or a short span copied from the passage, "
    "with no explanation. Write numbers in digits without % or currency signs, e.g. 26.7."
)

GSM_HARD_DESCRIPTION = (
    "GSM-Hard: the GSM8K test problems with some numbers replaced by large ones (PAL, Gao et al. 2023), "
    "so mental arithmetic no longer works; answers can be large, negative or fractional. Scoring compares "
    "the final number with a tolerance of 0.1 (less for answers below 1)."
)
GSM_HARD_ANSWER_FORMAT = (
    "Answer with only the final number, in digits, without units; give decimals when the result is not "
    "whole, e.g. 14053029.67."
)

SVAMP_DESCRIPTION = (
    "SVAMP: one- and two-step arithmetic word problems built as variations of simple problems (changed "
    "questions, added irrelevant numbers) to catch shallow heuristics. Every answer is a whole number; "
    "scoring compares the final number exactly."
)

ASDIV_DESCRIPTION = (
    "ASDiv: diverse primary-school maths word problems (grades 1 to 6). Agentkit keeps the problems whose "
    "answer is one number (a unit in parentheses is dropped); scoring compares the final number exactly."
)
