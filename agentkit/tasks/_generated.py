"""Procedurally generated tasks: unlimited, contamination-free examples with exact answers.

Example ``i`` of a generator depends only on (generator, seed, difficulty, i): it is drawn from
``random.Random("agentkit/<kind>/<seed>/<difficulty>/<i>")``. Seeding `random.Random` with a string
hashes it with SHA-512 (never the per-process salted ``hash()``), so every machine and Python version
from 3.11 on produces the same examples, and a larger ``size`` only appends examples.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentkit.tasks._models import Example

MIN_DIFFICULTY = 1
MAX_DIFFICULTY = 5


@dataclass(frozen=True)
class GeneratedSpec:
    """One generator and how its task presents itself."""

    make: Callable[[random.Random, int], tuple[str, str, dict[str, Any]]]
    description: str
    answer_format: str
    scorer: str


# --- arithmetic ---------------------------------------------------------------------------------------


def _arith_tree(rng: random.Random, leaves: int, magnitude: int, ops: str, negatives: bool) -> Any:
    if leaves == 1:
        low = -magnitude if negatives else 0
        return rng.randint(low, magnitude)
    left = rng.randint(1, leaves - 1)
    return (
        rng.choice(ops),
        _arith_tree(rng, left, magnitude, ops, negatives),
        _arith_tree(rng, leaves - left, magnitude, ops, negatives),
    )


def _arith_eval(node: Any) -> int:
    if isinstance(node, int):
        return node
    op, a, b = node
    x, y = _arith_eval(a), _arith_eval(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    return x * y


def _arith_render(node: Any, top: bool = True) -> str:
    if isinstance(node, int):
        return str(node)
    op, a, b = node
    text = f"{_arith_render(a, False)} {op} {_arith_render(b, False)}"
    return text if top else f"({text})"


def make_arithmetic(rng: random.Random, difficulty: int) -> tuple[str, str, dict[str, Any]]:
    """An integer expression with ``difficulty + 1`` operands; + and - at level 1, also * above it."""
    magnitude = (9, 12, 20, 30, 50)[difficulty - 1]
    ops = "+-" if difficulty == 1 else "+-*"
    tree = _arith_tree(rng, difficulty + 1, magnitude, ops, negatives=difficulty >= 2)
    expression = _arith_render(tree)
    question = f"Compute the value of this expression: {expression}"
    return question, str(_arith_eval(tree)), {"expression": expression}


# --- boolean ------------------------------------------------------------------------------------------


def _bool_tree(rng: random.Random, leaves: int) -> Any:
    node: Any
    if leaves == 1:
        node = rng.choice((True, False))
    else:
        left = rng.randint(1, leaves - 1)
        node = (rng.choice(("and", "or")), _bool_tree(rng, left), _bool_tree(rng, leaves - left))
    if rng.random() < 0.3:
        node = ("not", node)
    return node


def _bool_eval(node: Any) -> bool:
    if isinstance(node, bool):
        return node
    if node[0] == "not":
        return not _bool_eval(node[1])
    op, a, b = node
    return (_bool_eval(a) and _bool_eval(b)) if op == "and" else (_bool_eval(a) or _bool_eval(b))


def _bool_render(node: Any, top: bool = True) -> str:
    if isinstance(node, bool):
        return str(node)
    if node[0] == "not":
        return f"not {_bool_render(node[1], False)}"
    op, a, b = node
    text = f"{_bool_render(a, False)} {op} {_bool_render(b, False)}"
    return text if top else f"({text})"


def make_boolean(rng: random.Random, difficulty: int) -> tuple[str, str, dict[str, Any]]:
    """A Boolean expression over True/False with and/or/not and ``difficulty + 2`` literals."""
    tree = _bool_tree(rng, difficulty + 2)
    expression = _bool_render(tree)
    question = (
        f"Evaluate this Boolean expression (not binds tighter than and, and tighter than or): {expression}"
    )
    return question, str(_bool_eval(tree)), {"expression": expression}


# --- dyck ---------------------------------------------------------------------------------------------

_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}


def make_dyck(rng: random.Random, difficulty: int) -> tuple[str, str, dict[str, Any]]:
    """A bracket prefix of about ``6 + 4 * difficulty`` symbols leaving 1 to ``difficulty + 1`` open."""
    open_at_end = rng.randint(1, difficulty + 1)
    # The prefix length must have the parity of the number of brackets left open.
    length = 6 + 4 * difficulty + open_at_end % 2
    stack: list[str] = []
    tokens: list[str] = []
    for step in range(length):
        remaining = length - step - 1  # symbols still to place after this one
        can_open = len(stack) + 1 - remaining <= open_at_end
        can_close = bool(stack) and len(stack) - 1 + remaining >= open_at_end
        if can_open and (not can_close or rng.random() < 0.55):
            opener = rng.choice(tuple(_PAIRS))
            stack.append(opener)
            tokens.append(opener)
        else:
            tokens.append(_PAIRS[stack.pop()])
    closing = " ".join(_PAIRS[o] for o in reversed(stack))
    prefix = " ".join(tokens)
    question = (
        "Complete this sequence of brackets so that every bracket is closed in the right order. "
        f"Sequence: {prefix}"
    )
    return question, closing, {"prefix": prefix}


# --- word sorting -------------------------------------------------------------------------------------

_WORD_TEXT = """
    acorn anchor apple arrow attic badge bakery banner barley basket beacon bishop blanket blossom
    bottle bracket bridge bucket butter cabin cactus camera candle canyon carpet castle cellar cherry
    chimney cinder circus clover cobalt comet copper cotton crayon cricket crystal dagger dancer desert
    dragon drizzle eagle ember engine falcon feather fiddle forest fossil fountain galaxy garden garlic
    glacier goblet granite gravel harbor harvest hazel helmet hermit hollow honey horizon iceberg island
    ivory jacket jasmine jigsaw jungle kernel kettle kitten ladder lantern lemon lilac lizard lobster
    maple marble meadow mirror mitten monsoon mosaic muffin nectar needle nickel nutmeg oasis orbit
    orchard otter oyster paddle pebble pepper pillow pioneer planet pocket pollen puzzle quartz quill
    rabbit radish raven ribbon river rocket saddle salmon satchel shadow silver sparrow spindle sprocket
    squash summit tablet teapot thimble thistle thunder timber tractor tunnel turnip umbrella valley
    velvet violet voyage walnut willow window winter wizard yarrow zenith zephyr
"""
WORDS = tuple(_WORD_TEXT.split())
"""The vocabulary of `gen/word-sorting`: common, distinct, lower-case English words."""


def make_word_sorting(rng: random.Random, difficulty: int) -> tuple[str, str, dict[str, Any]]:
    """``4 * difficulty`` distinct lower-case words (4 to 20) to sort alphabetically."""
    words = rng.sample(WORDS, 4 * difficulty)
    question = "Sort these words alphabetically: " + " ".join(words)
    return question, " ".join(sorted(words)), {"words": words}


# --- object counting ----------------------------------------------------------------------------------

CATEGORIES: dict[str, dict[str, str]] = {
    "fruits": {
        "apple": "apples",
        "banana": "bananas",
        "peach": "peaches",
        "plum": "plums",
        "grape": "grapes",
        "orange": "oranges",
        "nectarine": "nectarines",
        "strawberry": "strawberries",
    },
    "vegetables": {
        "carrot": "carrots",
        "potato": "potatoes",
        "onion": "onions",
        "cabbage": "cabbages",
        "yam": "yams",
        "cauliflower": "cauliflowers",
        "stalk of celery": "stalks of celery",
        "head of broccoli": "heads of broccoli",
    },
    "animals": {
        "cat": "cats",
        "goat": "goats",
        "rabbit": "rabbits",
        "snake": "snakes",
        "mouse": "mice",
        "donkey": "donkeys",
        "fish": "fish",
        "frog": "frogs",
    },
    "musical instruments": {
        "piano": "pianos",
        "flute": "flutes",
        "violin": "violins",
        "drum": "drums",
        "trumpet": "trumpets",
        "clarinet": "clarinets",
        "trombone": "trombones",
        "accordion": "accordions",
    },
}
"""The nouns of `gen/object-counting`, by category, singular -> plural."""

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")


def _with_count(count: int, singular: str, plural: str) -> str:
    if count == 1:
        return ("an " if singular[0] in "aeiou" else "a ") + singular
    return f"{NUMBER_WORDS[count]} {plural}"


def make_object_counting(rng: random.Random, difficulty: int) -> tuple[str, str, dict[str, Any]]:
    """``2 + 2 * difficulty`` kinds of things, each owned 1 to ``difficulty + 1`` times; count one category."""
    pool = [(cat, s, p) for cat, nouns in CATEGORIES.items() for s, p in nouns.items()]
    chosen = rng.sample(pool, 2 + 2 * difficulty)
    asked = rng.choice(sorted({cat for cat, _, _ in chosen}))
    items = [(cat, s, p, rng.randint(1, difficulty + 1)) for cat, s, p in chosen]
    phrases = [_with_count(n, s, p) for _, s, p, n in items]
    listing = ", ".join(phrases[:-1]) + ", and " + phrases[-1]
    question = f"I have {listing}. How many {asked} do I have?"
    answer = sum(n for cat, _, _, n in items if cat == asked)
    meta = {"items": [[s, n, cat] for cat, s, _, n in items], "category": asked}
    return question, str(answer), meta


# --- shuffled objects ---------------------------------------------------------------------------------

PEOPLE = ("Alice", "Bob", "Claire", "Dave", "Eve", "Fred", "Gertrude")
COLOURS = ("red", "blue", "green", "yellow", "purple", "orange", "white")


def make_shuffled_objects(rng: random.Random, difficulty: int) -> tuple[str, str, dict[str, Any]]:
    """``difficulty + 2`` people (3 to 7) with a ball each make ``difficulty + 2`` pairwise swaps."""
    n = difficulty + 2
    people = list(PEOPLE[:n])
    balls = [f"{c} ball" for c in rng.sample(COLOURS, n)]
    holding = dict(zip(people, balls, strict=True))
    swaps: list[tuple[str, str]] = []
    for _ in range(difficulty + 2):
        a, b = rng.sample(people, 2)
        holding[a], holding[b] = holding[b], holding[a]
        swaps.append((a, b))
    asked = rng.choice(people)
    owned = [f"{p} has {_with_count(1, b, b)}" for p, b in zip(people, balls, strict=True)]
    start = ", ".join(owned[:-1]) + ", and " + owned[-1]
    order = ["First"] + ["Then"] * (len(swaps) - 2) + ["Finally"]
    steps = " ".join(f"{w}, {a} and {b} swap balls." for w, (a, b) in zip(order, swaps, strict=True))
    options = "\n".join(f"({chr(65 + i)}) {b}" for i, b in enumerate(balls))
    question = (
        f"{', '.join(people[:-1])} and {people[-1]} are playing catch. At the start, {start}. "
        f"They trade balls in pairs. {steps} At the end, which ball does {asked} have?\n"
        f"Options:\n{options}"
    )
    target = f"({chr(65 + balls.index(holding[asked]))})"
    meta = {"people": people, "balls": balls, "swaps": [list(s) for s in swaps], "asked": asked}
    return question, target, meta


_MC_FORMAT = "Give the letter of the correct option in parentheses, e.g. (A), as the final answer."

GENERATORS: dict[str, GeneratedSpec] = {
    "arithmetic": GeneratedSpec(
        make_arithmetic,
        "Generated integer arithmetic: evaluate an expression with +, - and * and parentheses. Difficulty "
        "raises the number of operands and their size.",
        "Answer with only the resulting integer, e.g. -42.",
        "numeric",
    ),
    "boolean": GeneratedSpec(
        make_boolean,
        "Generated Boolean logic: evaluate an expression over True and False with and, or, not and "
        "parentheses. Difficulty raises the number of literals.",
        "Answer with exactly one word, True or False.",
        "label",
    ),
    "dyck": GeneratedSpec(
        make_dyck,
        "Generated bracket completion: close every bracket left open in a sequence of (), [], {} and <>, "
        "innermost first. Difficulty raises the length and the number of open brackets.",
        "Answer with only the missing closing brackets, in order, separated by single spaces, e.g. ] ) >.",
        "dyck",
    ),
    "word-sorting": GeneratedSpec(
        make_word_sorting,
        "Generated word sorting: sort distinct lower-case English words alphabetically. Difficulty raises "
        "the number of words (4 per level).",
        "Answer with only the sorted words, separated by single spaces, on one line.",
        "words",
    ),
    "object-counting": GeneratedSpec(
        make_object_counting,
        "Generated counting: someone lists what they own, with counts written as words; count the items "
        "of one category. Difficulty raises the number of kinds and the counts.",
        "Answer with only the number, written in digits, e.g. 7.",
        "numeric",
    ),
    "shuffled-objects": GeneratedSpec(
        make_shuffled_objects,
        "Generated state tracking: people holding coloured balls swap them in pairs; say which ball one "
        "person ends with. Difficulty raises the number of people and swaps.",
        _MC_FORMAT,
        "multiple_choice",
    ),
}
"""Every generator by its task suffix (``gen/<suffix>``)."""


def generate(kind: str, *, seed: int, difficulty: int, size: int) -> list[Example]:
    """`size` examples of generator `kind` (see the module docstring for reproducibility)."""
    spec = GENERATORS[kind]
    examples: list[Example] = []
    for i in range(size):
        rng = random.Random(f"agentkit/{kind}/{seed}/{difficulty}/{i}")
        question, answer, meta = spec.make(rng, difficulty)
        examples.append(
            Example(
                id=f"gen/{kind}/s{seed}-d{difficulty}/{i}",
                input=question,
                target=answer,
                metadata={**meta, "seed": seed, "difficulty": difficulty, "index": i},
            )
        )
    return examples
