"""`Task.from_records`: tasks defined in Python with a scorer by name or any callable, and the in-memory
registry that lets configuration name them (``py/<name>``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentkit.errors import TaskError
from agentkit.tasks import (
    Example,
    Task,
    load_split,
    load_task,
    register_task,
    registered_names,
    split_task,
    unregister_task,
)

RECORDS = [
    {"question": "Capital of France?", "answer": "Paris", "region": "europe"},
    {"question": "Capital of Peru?", "answer": "Lima", "region": "americas"},
    {"question": "Capital of Kenya?", "answer": "Nairobi", "region": "africa"},
]


def mentions_target(answer: str, example: Example) -> float:
    """Right when the answer names the capital anywhere; half credit for the right region's name."""
    if example.target.lower() in answer.lower():
        return 1.0
    return 0.5 if example.metadata["region"] in answer.lower() else 0.0


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    before = set(registered_names())
    yield
    for name in set(registered_names()) - before:
        unregister_task(name)


def test_named_scorer() -> None:
    task = Task.from_records(
        RECORDS, scorer="exact_ci", name="capitals", input_field="question", target_field="answer"
    )
    assert task.name == "py/capitals" and task.scorer_name == "exact_ci" and task.source == "python"
    assert [e.id for e in task.examples] == ["capitals/0", "capitals/1", "capitals/2"]
    assert task.examples[0].metadata == {"region": "europe"}
    assert task.score_example("So the answer is paris.", task.examples[0]) == 1.0
    assert task.score_example("Lyon", task.examples[0]) == 0.0


def test_callable_scorer_sees_the_example() -> None:
    task = Task.from_records(
        RECORDS, scorer=mentions_target, name="capitals", input_field="question", target_field="answer"
    )
    first = task.examples[0]
    assert task.scorer_name == "python:mentions_target"
    assert task.score_example("I think it is Paris, France.", first) == 1.0
    assert task.score_example("Somewhere in Europe", first) == 0.5  # metadata reached the scorer
    assert task.score_example(None, first) == 0.0  # a failed agent is not passed to the scorer
    assert task.score("It is Paris", "Paris") == 1.0  # by target alone, with a bare example
    # The callable is not data: it is left out of dumps, and the task still describes itself.
    dumped = task.model_dump()
    assert "scorer_fn" not in dumped and dumped["scorer_name"] == "python:mentions_target"
    assert "scorer_fn" not in repr(task)


def test_scorer_contract_is_enforced() -> None:
    def too_high(answer: str, example: Example) -> float:
        return 2.0

    def broken(answer: str, example: Example) -> float:
        raise KeyError("nope")

    def boolean(answer: str, example: Example) -> bool:
        return answer == example.target

    records = [{"input": "q", "target": "a"}]
    with pytest.raises(TaskError, match=r"returned 2\.0 for example 'bad/0'.*from 0 to 1"):
        Task.from_records(records, scorer=too_high, name="bad").score_example(
            "a", Example(id="bad/0", input="q", target="a")
        )
    task = Task.from_records(records, scorer=broken, name="broken")
    with pytest.raises(TaskError, match="failed on example 'broken/0': KeyError"):
        task.score_example("a", task.examples[0])
    flag = Task.from_records(records, scorer=boolean, name="flag")  # type: ignore[arg-type]
    assert flag.score_example("a", flag.examples[0]) == 1.0


def test_records_are_checked() -> None:
    with pytest.raises(TaskError, match="unknown scorer 'fuzzy'"):
        Task.from_records(RECORDS, scorer="fuzzy")
    with pytest.raises(TaskError, match="record 0 has no 'input'"):
        Task.from_records(RECORDS)
    with pytest.raises(TaskError, match="needed by a named scorer"):
        Task.from_records([{"input": "q"}], scorer="exact")
    with pytest.raises(TaskError, match="duplicate id 'x'"):
        Task.from_records(
            [{"input": "a", "target": 1, "id": "x"}, {"input": "b", "target": 2, "id": "x"}], id_field="id"
        )
    with pytest.raises(TaskError, match="no records"):
        Task.from_records([])
    # the same checks a JSONL task gets, and records that are not a list of mappings
    with pytest.raises(TaskError, match="a rubric is for scorer='judge', not 'exact'"):
        Task.from_records([{"input": "q", "target": "t"}], scorer="exact", rubric="Be kind.")
    with pytest.raises(TaskError, match=r"judge needs a rubric: .* \(1 without one, first 'noted/0'\)"):
        Task.from_records([{"input": "q"}], scorer="judge", name="noted")
    judged = Task.from_records([{"input": "q", "rubric": "Polite?"}], scorer="judge", name="j")
    assert judged.scorer_name == "judge"
    for bad in ({"input": "q", "target": "t"}, "input", None):
        with pytest.raises(TaskError, match="records must be a list of mappings"):
            Task.from_records(bad)  # type: ignore[arg-type]
    with pytest.raises(TaskError, match="name must be a string"):
        Task.from_records([{"input": "q", "target": "t"}], name=None)  # type: ignore[arg-type]
    # A callable scorer may do without targets; Example objects pass through; targets become text.
    loose = Task.from_records([{"input": "q"}], scorer=mentions_target, name="loose")
    assert loose.examples[0].target == ""
    mixed = Task.from_records(
        [Example(id="e1", input="q", target="t"), {"input": "r", "target": 3.0}], name="m"
    )
    assert [(e.id, e.target) for e in mixed.examples] == [("e1", "t"), ("m/1", "3")]


def test_register_and_load_by_name() -> None:
    task = Task.from_records(
        RECORDS, scorer=mentions_target, name="capitals", input_field="question", target_field="answer"
    )
    name = register_task(task)
    assert name == "py/capitals" and name in registered_names()
    loaded = load_task(name)
    assert loaded.examples == task.examples and loaded.scorer_fn is mentions_target
    assert load_task(name, split="default", data_dir="/nowhere").name == name  # data_dir does not apply
    with pytest.raises(TaskError, match="does not take"):
        load_task(name, seed=3)
    with pytest.raises(TaskError, match="no split"):
        load_task(name, split="train")
    # Splits and the sealed test work as for any task.
    split = split_task(load_task(name), test_size=1, seed=0)
    assert len(split.search) == 2 and len(split.test_ids) == 1
    assert len(load_split(name, "search", test_size=1)) == 2
    # A task with another name is registered under py/<name>.
    other = Task(name="mine", description="d", answer_format="f", examples=task.examples, scorer_name="exact")
    assert register_task(other) == "py/mine" and load_task("py/mine").name == "py/mine"
    unregister_task("py/mine")
    with pytest.raises(TaskError, match="register_task"):
        load_task("py/mine")
