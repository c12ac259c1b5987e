"""Tasks you define: a JSONL file (``jsonl:<path>``) or Python records (`task_from_records`).

A task defined in Python lives in memory. `register_task` gives it a name, ``py/<name>``, that
`load_task` resolves in this process, so anything configured by task name (a `SearchConfig`, the
``--task`` of a command run in-process) can use it while its configuration stays plain data. A resumed
search in a new process needs the task registered again under the same name first.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from agentkit.errors import DatasetFormatError, TaskError
from agentkit.tasks import _data
from agentkit.tasks._models import Example, Task
from agentkit.tasks._scorers import SCORERS

ScorerFn = Callable[[str, Example], float]
"""A custom scorer: ``(answer, example) -> float`` in [0, 1] (see `task_from_records`)."""

PY_PREFIX = "py/"
_REGISTRY: dict[str, Task] = {}
_LOCK = threading.Lock()


def as_text(value: Any) -> str:
    """A JSON value as target text: strings as they are, ``3.0`` as ``"3"``, lists/objects/booleans as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value) if isinstance(value, list | dict | bool) else str(value)


def check_score(value: Any, example: Example, scorer: str) -> float:
    """`value` as a float in [0, 1]; TaskError naming the example and scorer otherwise."""
    if isinstance(value, bool):
        value = float(value)
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise TaskError(
            f"scorer {scorer} returned {value!r} for example {example.id!r}: a score must be a number "
            "from 0 to 1"
        )
    return float(value)


# --- JSONL --------------------------------------------------------------------------------------------

JSONL_OPTIONS = (
    "input_field",
    "target_field",
    "id_field",
    "scorer",
    "description",
    "answer_format",
    "rubric",
)
JUDGE_SCORER = "judge"
"""Scorer name of tasks graded by an LLM judge (`agentkit.evaluate.Judge`); not in `SCORERS`: it needs a
model call, which only an evaluation can make."""


def load_jsonl_task(
    path_text: str,
    *,
    input_field: str = "input",
    target_field: str = "target",
    id_field: str | None = None,
    scorer: str = "exact",
    description: str | None = None,
    answer_format: str | None = None,
    rubric: str | None = None,
) -> Task:
    """A task from a JSONL file (``jsonl:<path>``; options as `agentkit.tasks.load_task` lists them).

    With ``scorer="judge"`` an LLM judge grades the answers: `rubric` is the task's rubric (an example's
    own ``rubric`` field wins), the target field is optional (when present it is shown to the judge as a
    reference answer), and the evaluation needs a judge model (``--judge-model``)."""
    if scorer not in SCORERS and scorer != JUDGE_SCORER:
        known = ", ".join(sorted([*SCORERS, JUDGE_SCORER]))
        raise TaskError(f"unknown scorer {scorer!r}; known: {known}")
    if rubric is not None and scorer != JUDGE_SCORER:
        raise TaskError(f"the rubric option is for scorer={JUDGE_SCORER}, not {scorer}")
    if not path_text.strip():
        raise TaskError("jsonl task without a path: write jsonl:<path>, e.g. jsonl:data/my_task.jsonl")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise TaskError(f"jsonl task: no file at {path}")
    judged = scorer == JUDGE_SCORER
    required = (input_field,) + (() if judged else (target_field,)) + ((id_field,) if id_field else ())
    options = {input_field: "input_field", target_field: "target_field"} | (
        {id_field: "id_field"} if id_field else {}
    )
    lines = _data.check_jsonl(path, required, options)
    rows = _data.read_json_rows(path)
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        ex_id = str(row[id_field]) if id_field else f"{path.stem}/{i}"
        if ex_id in seen:
            raise DatasetFormatError(
                f"duplicate id {ex_id!r} (first on line {seen[ex_id]})", path=str(path), line=lines[i]
            )
        seen[ex_id] = lines[i]
        meta = {k: v for k, v in row.items() if k not in (*required, target_field) and v is not None}
        target = row.get(target_field)
        examples.append(
            Example(
                id=ex_id,
                input=str(row[input_field]),
                target="" if target is None else as_text(target),
                metadata=meta,
            )
        )
    if judged and not (rubric and rubric.strip()):
        missing = [e.id for e in examples if not str(e.metadata.get("rubric") or "").strip()]
        if missing:
            raise TaskError(
                f"jsonl task scored by a judge needs a rubric: give the option rubric=... or a 'rubric' field "
                f"on every row ({len(missing)} row(s) have none, e.g. {missing[0]!r})"
            )
    return Task(
        name=f"jsonl:{path_text}",
        description=description or f"Custom task from {path.name}: answer each input as in its examples.",
        answer_format=answer_format or "Give only the final answer, with no explanation.",
        examples=examples,
        scorer_name=scorer,
        split="default",
        source=str(path.resolve()),
        params={
            "input_field": input_field,
            "target_field": target_field,
            "id_field": id_field,
            "scorer": scorer,
        },
        rubric=rubric,
    )


# --- Python records -----------------------------------------------------------------------------------


def _scorer_label(scorer: ScorerFn) -> str:
    name = getattr(scorer, "__qualname__", None) or getattr(scorer, "__name__", None) or type(scorer).__name__
    return f"python:{name}"


def task_from_records(
    records: Iterable[Mapping[str, Any] | Example],
    *,
    scorer: str | ScorerFn = "exact",
    name: str = "custom",
    description: str | None = None,
    answer_format: str | None = None,
    input_field: str = "input",
    target_field: str = "target",
    id_field: str | None = None,
    rubric: str | None = None,
) -> Task:
    """A task from Python records, without a file (`agentkit.Task.from_records`).

    `records`: mappings with the question under `input_field` ("input") and the gold answer under
    `target_field` ("target"; any JSON value, kept as text; optional with a callable scorer), or
    `Example` objects. Other keys go to the example's `metadata`. Ids are `id_field`'s values, else
    ``<name>/<row>``; they must be unique.

    `scorer`: a built-in scorer's name (``exact``, ``exact_ci``, ``numeric``, ``numeric_approx``, ``f1``,
    ``label``, ``multiple_choice``, ``words``, ``dyck``; see `agentkit.tasks.SCORERS`), ``judge`` (an LLM
    judge grades against `rubric` or each record's ``rubric``; see `agentkit.evaluate.Judge`), or any
    Python callable ``scorer(answer: str, example: Example) -> float`` where

    - `answer` is the agent's whole answer text (not reduced to a final answer: use
      `agentkit.tasks.extract_final_answer` or `final_number` for that);
    - `example` is the `Example` being scored: ``example.target``, ``example.input`` and
      ``example.metadata`` (the record's other keys) are there to compare against;
    - the result is a number from 0 (wrong) to 1 (right); values in between are partial credit, and
      the statistics then use the interval for bounded scores. ``True``/``False`` count as 1/0.
      Anything else (out of range, NaN, not a number) stops the evaluation with a `TaskError`;
    - it is called in the evaluating process (not in the sandbox), possibly from several asyncio
      tasks in turn, never for an agent that failed (that scores 0 without a call).

    The task is named ``py/<name>``; pass it to `register_task` to use it by name (a `SearchConfig`,
    `load_task`).

    Example:
        >>> def close_enough(answer: str, example: Example) -> float:
        ...     return 1.0 if example.target.lower() in answer.lower() else 0.0
        >>> task = Task.from_records(
        ...     [{"input": "Capital of France?", "target": "Paris"}], scorer=close_enough, name="capitals"
        ... )
        >>> task.name, task.score("It is Paris.", "Paris")
        ('py/capitals', 1.0)
    """
    if scorer == JUDGE_SCORER:
        scorer_fn, scorer_name = None, JUDGE_SCORER
    elif isinstance(scorer, str):
        if scorer not in SCORERS:
            raise TaskError(f"unknown scorer {scorer!r}; known: {', '.join(sorted(SCORERS))}")
        scorer_fn, scorer_name = None, scorer
    elif callable(scorer):
        scorer_fn, scorer_name = scorer, _scorer_label(scorer)
    else:
        raise TaskError(f"scorer must be a scorer name or a callable, got {type(scorer).__name__}")
    if rubric is not None and scorer_name != JUDGE_SCORER:
        raise TaskError(f"a rubric is for scorer={JUDGE_SCORER!r}, not {scorer_name!r}")
    if isinstance(records, Mapping | str | bytes) or not isinstance(records, Iterable):
        raise TaskError(
            f"records must be a list of mappings (one per example), not a {type(records).__name__}"
        )
    if not isinstance(name, str):
        raise TaskError(f"a task's name must be a string, not {type(name).__name__}")
    base = name.removeprefix(PY_PREFIX).strip()
    if not base:
        raise TaskError("a task defined in Python needs a non-empty name")
    examples: list[Example] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        if isinstance(record, Example):
            example = record
        elif isinstance(record, Mapping):
            need_target = scorer_fn is None and scorer_name != JUDGE_SCORER
            example = _example_from(record, i, base, input_field, target_field, id_field, need_target)
        else:
            raise TaskError(f"record {i} is a {type(record).__name__}, not a mapping or an Example")
        if example.id in seen:
            raise TaskError(f"record {i}: duplicate id {example.id!r}")
        seen.add(example.id)
        examples.append(example)
    if not examples:
        raise TaskError(f"task {name!r} has no records")
    if scorer_name == JUDGE_SCORER and not (rubric and rubric.strip()):
        missing = [e.id for e in examples if not str(e.metadata.get("rubric") or "").strip()]
        if missing:
            raise TaskError(
                f"a task scored by a judge needs a rubric: give rubric=... or a 'rubric' key in each record "
                f"({len(missing)} without one, first {missing[0]!r})"
            )
    return Task(
        name=PY_PREFIX + base,
        description=description or f"Custom task {base}: answer each input as in its examples.",
        answer_format=answer_format or "Give only the final answer, with no explanation.",
        examples=examples,
        scorer_name=scorer_name,
        split="default",
        source="python",
        scorer_fn=scorer_fn,
        rubric=rubric,
    )


def _example_from(
    record: Mapping[str, Any],
    row: int,
    base: str,
    input_field: str,
    target_field: str,
    id_field: str | None,
    need_target: bool,
) -> Example:
    if record.get(input_field) is None:
        raise TaskError(f"record {row} has no {input_field!r}")
    if need_target and record.get(target_field) is None:
        raise TaskError(f"record {row} has no {target_field!r} (needed by a named scorer)")
    if id_field is not None and record.get(id_field) is None:
        raise TaskError(f"record {row} has no {id_field!r}")
    used = {input_field, target_field} | ({id_field} if id_field else set())
    target = record.get(target_field)
    return Example(
        id=str(record[id_field]) if id_field else f"{base}/{row}",
        input=str(record[input_field]),
        target="" if target is None else as_text(target),
        metadata={str(k): v for k, v in record.items() if k not in used},
    )


# --- the in-memory registry ---------------------------------------------------------------------------


def register_task(task: Task) -> str:
    """Make `task` loadable by name in this process; return the name (``py/<name>``).

    A task already named ``py/...`` keeps its name; another (``gsm8k`` filtered in Python, say) is
    registered as ``py/<its name>``. Registering again under a name replaces the earlier task.

    Example:
        >>> name = register_task(Task.from_records(records, scorer=my_scorer, name="faq"))  # doctest: +SKIP
        >>> config = SearchConfig(task=name, ...)  # 'py/faq'  # doctest: +SKIP
    """
    name = task.name if task.name.startswith(PY_PREFIX) else PY_PREFIX + task.name
    stored = task if task.name == name else task.model_copy(update={"name": name})
    with _LOCK:
        _REGISTRY[name] = stored
    return name


def unregister_task(name: str) -> None:
    """Forget a registered task (no error when there is none)."""
    with _LOCK:
        _REGISTRY.pop(name, None)


def registered_task(name: str, split: str = "default") -> Task:
    """The task registered as `name` (a shallow copy); TaskError when none is."""
    with _LOCK:
        task = _REGISTRY.get(name)
        known = sorted(_REGISTRY)
    if task is None:
        hint = f" Registered here: {', '.join(known)}." if known else ""
        raise TaskError(
            f"no task registered as {name!r} in this process: tasks defined in Python are registered with "
            f"agentkit.tasks.register_task(task) (again after a restart, e.g. before resuming a search).{hint}"
        )
    if split not in ("default", task.split):
        raise TaskError(f"task {name!r} has no split {split!r}; splits: {task.split}")
    return task.model_copy()


def registered_names() -> list[str]:
    """Names registered in this process."""
    with _LOCK:
        return sorted(_REGISTRY)
