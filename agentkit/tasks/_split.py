"""Seeded search/test splits, with the test set sealed so it is only used on purpose."""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, PrivateAttr

from agentkit.errors import TaskError
from agentkit.tasks._models import Example, Task

SEALED_CONFIRMATION = "test"
"""The word `TaskSplit.load_sealed_test` must be given, so that reading the test set is deliberate."""


class TaskSplit(BaseModel):
    """A task divided into a `search` set and a sealed test set.

    Only the ids of the test set are visible; its examples are not part of the model's fields (they are
    left out of `model_dump`, JSON and repr) and come only from `load_sealed_test(confirm="test")`.
    Search uses the search set; the sealed set is scored once, at the end, for the final report.
    """

    task_name: str
    """Name of the task that was split."""
    seed: int
    """Seed of the shuffle; the same task, sizes and seed give the same ids."""
    search: list[Example]
    """Examples for searching and selecting agents, in shuffled order (so any prefix is a random
    subset, which the cascade's screening step relies on)."""
    test_ids: list[str]
    """Ids of the sealed test examples (contents sealed)."""
    _sealed: list[Example] = PrivateAttr(default_factory=list)

    def load_sealed_test(self, *, confirm: str) -> list[Example]:
        """The sealed test examples. `confirm` must be ``"test"``: the call names the set on purpose."""
        if confirm != SEALED_CONFIRMATION:
            raise TaskError(
                f'the test set is sealed; call load_sealed_test(confirm="{SEALED_CONFIRMATION}") '
                "only to score final agents once"
            )
        return list(self._sealed)


def split_task(task: Task, *, search_size: int | None = None, test_size: int, seed: int = 0) -> TaskSplit:
    """Split `task` with a seeded shuffle: the first `test_size` shuffled examples are the sealed test
    set, the next `search_size` (None: all the rest) the search set.

    The test set is drawn first, so changing `search_size` never changes the test set. The shuffle uses
    ``random.Random(seed)`` only, so the split is the same on every machine.
    """
    n = len(task.examples)
    if test_size < 0:
        raise TaskError(f"test_size must be >= 0, got {test_size}")
    rest = n - test_size
    if search_size is None:
        search_size = rest
    if search_size < 1 or search_size > rest:
        raise TaskError(
            f"{task.name} has {n} examples: cannot take {test_size} for test and {search_size} for search"
        )
    order = list(range(n))
    random.Random(seed).shuffle(order)
    split = TaskSplit(
        task_name=task.name,
        seed=seed,
        search=[task.examples[i] for i in order[test_size : test_size + search_size]],
        test_ids=[task.examples[i].id for i in order[:test_size]],
    )
    split._sealed = [task.examples[i] for i in order[:test_size]]
    return split


def load_split(
    task: Task | str,
    which: Literal["search", "test"],
    *,
    test_size: int,
    search_size: int | None = None,
    seed: int = 0,
    **load_opts: Any,
) -> list[Example]:
    """The examples of one named side of `split_task` (``"search"`` or ``"test"``).

    `task` is a Task or a name for `load_task` (with `load_opts`). Naming ``"test"`` is the explicit way
    to open the sealed set, e.g. for the final scoring of the best agents.
    """
    if which not in ("search", "test"):
        raise TaskError(f'split must be "search" or "test", got {which!r}')
    if isinstance(task, str):
        from agentkit.tasks._registry import load_task

        task = load_task(task, **load_opts)
    split = split_task(task, search_size=search_size, test_size=test_size, seed=seed)
    return split.search if which == "search" else split.load_sealed_test(confirm=which)
