"""Seeded search/test splits and the sealed test set."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.errors import TaskError
from agentkit.tasks import Task, load_split, load_task, split_task


@pytest.fixture
def task() -> Task:
    return load_task("gen/arithmetic", seed=0, size=80)


def test_same_seed_same_ids(task: Task) -> None:
    a = split_task(task, search_size=30, test_size=20, seed=5)
    b = split_task(task, search_size=30, test_size=20, seed=5)
    assert [e.id for e in a.search] == [e.id for e in b.search]
    assert a.test_ids == b.test_ids
    c = split_task(task, search_size=30, test_size=20, seed=6)
    assert [e.id for e in a.search] != [e.id for e in c.search]


def test_sides_are_disjoint_and_sized(task: Task) -> None:
    split = split_task(task, search_size=30, test_size=20, seed=1)
    assert len(split.search) == 30 and len(split.test_ids) == 20
    assert {e.id for e in split.search}.isdisjoint(split.test_ids)
    rest = split_task(task, test_size=20, seed=1)
    assert len(rest.search) == 60


def test_test_set_does_not_depend_on_search_size(task: Task) -> None:
    small = split_task(task, search_size=10, test_size=20, seed=3)
    large = split_task(task, search_size=50, test_size=20, seed=3)
    assert small.test_ids == large.test_ids
    assert [e.id for e in large.search[:10]] == [e.id for e in small.search]


def test_sealed_test_needs_its_name(task: Task) -> None:
    split = split_task(task, search_size=30, test_size=20, seed=1)
    with pytest.raises(TaskError, match="sealed"):
        split.load_sealed_test(confirm="yes")
    sealed = split.load_sealed_test(confirm="test")
    assert [e.id for e in sealed] == split.test_ids
    by_id = {e.id: e for e in task.examples}
    assert all(by_id[e.id] == e for e in sealed)


def test_sealed_examples_do_not_leak(task: Task) -> None:
    split = split_task(task, search_size=5, test_size=5, seed=1)
    hidden = split.load_sealed_test(confirm="test")
    dumped = split.model_dump_json()
    assert "test_ids" in dumped
    for example in hidden:
        assert example.input not in dumped
        assert example.input not in repr(split)


def test_load_split_by_name(data_dir: Path) -> None:
    search = load_split("bbh/navigate", "search", search_size=40, test_size=100, seed=9, data_dir=data_dir)
    test = load_split("bbh/navigate", "test", search_size=40, test_size=100, seed=9, data_dir=data_dir)
    assert len(search) == 40 and len(test) == 100
    assert {e.id for e in search}.isdisjoint(e.id for e in test)
    split = split_task(load_task("bbh/navigate", data_dir=data_dir), search_size=40, test_size=100, seed=9)
    assert [e.id for e in test] == split.test_ids
    with pytest.raises(TaskError):
        load_split("bbh/navigate", "validation", test_size=1, data_dir=data_dir)  # type: ignore[arg-type]


def test_bad_sizes(task: Task) -> None:
    with pytest.raises(TaskError, match="80 examples"):
        split_task(task, search_size=70, test_size=20, seed=0)
    with pytest.raises(TaskError):
        split_task(task, search_size=10, test_size=-1, seed=0)
    with pytest.raises(TaskError):
        split_task(task, search_size=0, test_size=10, seed=0)
