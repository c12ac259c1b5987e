"""Generated tasks: reproducible from their seed, and every answer checked by an independent computation."""

from __future__ import annotations

import ast
import hashlib
import operator
import re

import pytest

from agentkit.tasks import load_task
from agentkit.tasks._generated import CATEGORIES, GENERATORS, NUMBER_WORDS

KINDS = [f"gen/{k}" for k in GENERATORS]
EXPECTED_KINDS = {"arithmetic", "boolean", "dyck", "word-sorting", "object-counting", "shuffled-objects"}

# Fingerprints of seed 7, difficulty 3, size 20: they must be the same on every machine and Python.
FINGERPRINTS = {
    "gen/arithmetic": "f76666ed038fec65",
    "gen/boolean": "48047c15a428736c",
    "gen/dyck": "866231cec6d719e8",
    "gen/word-sorting": "c2b8f12c3cc82675",
    "gen/object-counting": "222015430b73e0cf",
    "gen/shuffled-objects": "153b0f36ba8899be",
}


def _fingerprint(name: str, *, seed: int, difficulty: int, size: int) -> str:
    task = load_task(name, seed=seed, difficulty=difficulty, size=size)
    text = "\n".join(f"{e.id}|{e.input}|{e.target}" for e in task.examples)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_all_generators_present() -> None:
    assert set(GENERATORS) == EXPECTED_KINDS


@pytest.mark.parametrize("name", KINDS)
def test_same_seed_same_examples_everywhere(name: str) -> None:
    assert _fingerprint(name, seed=7, difficulty=3, size=20) == FINGERPRINTS[name]
    a = load_task(name, seed=7, difficulty=3, size=20)
    b = load_task(name, seed=7, difficulty=3, size=20)
    assert a.examples == b.examples


@pytest.mark.parametrize("name", KINDS)
def test_different_seed_or_difficulty_differs(name: str) -> None:
    base = load_task(name, seed=1, size=30)
    other_seed = load_task(name, seed=2, size=30)
    assert [e.input for e in base.examples] != [e.input for e in other_seed.examples]
    assert {e.id for e in base.examples}.isdisjoint(e.id for e in other_seed.examples)
    harder = load_task(name, seed=1, difficulty=5, size=30)
    assert [e.input for e in base.examples] != [e.input for e in harder.examples]


@pytest.mark.parametrize("name", KINDS)
def test_larger_size_extends(name: str) -> None:
    small = load_task(name, seed=3, size=5)
    large = load_task(name, seed=3, size=12)
    assert large.examples[:5] == small.examples
    assert len({e.input for e in large.examples}) > 1


def test_defaults_and_params() -> None:
    task = load_task("gen/arithmetic")
    assert len(task.examples) == 100 and task.params == {"seed": 0, "difficulty": 2, "size": 100}
    assert task.examples[4].id == "gen/arithmetic/s0-d2/4"
    assert task.description and task.answer_format and task.source == "generated"


# --- independent checks -------------------------------------------------------------------------------

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _eval_int(node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval_int(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval_int(node.left), _eval_int(node.right))
    raise AssertionError(f"unexpected syntax {ast.dump(node)}")


def _eval_bool(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval_bool(node.operand)
    if isinstance(node, ast.BoolOp):
        values = [_eval_bool(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    raise AssertionError(f"unexpected syntax {ast.dump(node)}")


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4, 5])
def test_arithmetic_answers(difficulty: int) -> None:
    task = load_task("gen/arithmetic", seed=11, difficulty=difficulty, size=60)
    for ex in task.examples:
        expression = ex.input.split(": ", 1)[1]
        assert str(_eval_int(ast.parse(expression, mode="eval").body)) == ex.target
        assert len(re.findall(r"\d+", expression)) == difficulty + 1
        assert task.score(ex.target, ex.target) == 1.0


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_boolean_answers(difficulty: int) -> None:
    task = load_task("gen/boolean", seed=11, difficulty=difficulty, size=60)
    for ex in task.examples:
        expression = ex.input.split(": ", 1)[1]
        assert str(_eval_bool(ast.parse(expression, mode="eval").body)) == ex.target
    assert {e.target for e in task.examples} == {"True", "False"}


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_dyck_answers(difficulty: int) -> None:
    closer = {"(": ")", "[": "]", "{": "}", "<": ">"}
    task = load_task("gen/dyck", seed=11, difficulty=difficulty, size=60)
    for ex in task.examples:
        stack: list[str] = []
        for token in ex.input.split("Sequence: ", 1)[1].split():
            if token in closer:
                stack.append(token)
            else:
                assert closer[stack.pop()] == token  # the prefix itself is well nested
        assert stack, ex.id
        assert " ".join(closer[t] for t in reversed(stack)) == ex.target
        assert task.score(ex.target.replace(" ", ""), ex.target) == 1.0


@pytest.mark.parametrize("difficulty", [1, 5])
def test_word_sorting_answers(difficulty: int) -> None:
    task = load_task("gen/word-sorting", seed=11, difficulty=difficulty, size=60)
    for ex in task.examples:
        words = ex.input.split(": ", 1)[1].split()
        assert len(words) == len(set(words)) == 4 * difficulty
        assert ex.target == " ".join(sorted(words))


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_object_counting_answers(difficulty: int) -> None:
    category_of = {}
    for category, nouns in CATEGORIES.items():
        for singular, plural in nouns.items():
            category_of[singular] = category_of[plural] = category
    task = load_task("gen/object-counting", seed=11, difficulty=difficulty, size=60)
    for ex in task.examples:
        m = re.fullmatch(r"I have (.*)\. How many (.*) do I have\?", ex.input)
        assert m is not None, ex.input
        listing, asked = m.groups()
        total = 0
        for phrase in re.split(r", and |, ", listing):
            count_word, noun = phrase.split(" ", 1)
            count = 1 if count_word in ("a", "an") else NUMBER_WORDS.index(count_word)
            if category_of[noun] == asked:
                total += count
        assert str(total) == ex.target


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_shuffled_objects_answers(difficulty: int) -> None:
    task = load_task("gen/shuffled-objects", seed=11, difficulty=difficulty, size=60)
    for ex in task.examples:
        holding = dict(re.findall(r"(\w+) has an? (\w+ ball)", ex.input))
        assert len(holding) == difficulty + 2
        for a, b in re.findall(r"(\w+) and (\w+) swap balls", ex.input):
            holding[a], holding[b] = holding[b], holding[a]
        asked = re.search(r"which ball does (\w+) have\?", ex.input)
        assert asked is not None
        options = dict(re.findall(r"^\(([A-G])\) (.+)$", ex.input, re.MULTILINE))
        (letter,) = [k for k, v in options.items() if v == holding[asked.group(1)]]
        assert f"({letter})" == ex.target
        assert task.score(f"So the answer is {letter}.", ex.target) == 1.0
