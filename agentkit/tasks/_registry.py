"""Tasks by name: ``gsm8k``, ``mgsm``, ``bbh/<task>``, ``drop``, ``gsm-hard``, ``svamp``, ``asdiv``,
``jsonl:<path>``, ``gen/<kind>`` and ``py/<name>``."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from agentkit.errors import DatasetFormatError, TaskError
from agentkit.tasks import _data
from agentkit.tasks._adas import ADAS_TASKS, adas_task_infos, load_adas_task
from agentkit.tasks._catalog import (
    BBH_TASKS,
    GSM8K_ANSWER_FORMAT,
    GSM8K_DESCRIPTION,
    MGSM_DESCRIPTION,
)
from agentkit.tasks._custom import JSONL_OPTIONS, PY_PREFIX, load_jsonl_task, registered_task
from agentkit.tasks._generated import GENERATORS, MAX_DIFFICULTY, MIN_DIFFICULTY, generate
from agentkit.tasks._models import Example, Task, TaskInfo

DataDir = Path | str | None

GEN_DEFAULTS = {"seed": 0, "difficulty": 2, "size": 100}
"""Options of ``gen/*`` tasks when not given."""


def task_names() -> list[str]:
    """Every built-in task name (``jsonl:<path>`` and ``py/<name>`` are open-ended and not listed)."""
    builtin = ["gsm8k", "mgsm", *ADAS_TASKS]
    return builtin + [f"bbh/{t}" for t in BBH_TASKS] + [f"gen/{k}" for k in GENERATORS]


def _reject_options(name: str, opts: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    extra = sorted(set(opts) - set(allowed))
    if extra:
        accepted = ", ".join(allowed) if allowed else "none"
        raise TaskError(f"task {name!r} does not take option(s) {', '.join(extra)} (accepted: {accepted})")


def _check_split(name: str, split: str, allowed: tuple[str, ...]) -> str:
    if split == "default":
        return allowed[0]
    if split not in allowed:
        raise TaskError(f"task {name!r} has no split {split!r}; splits: {', '.join(allowed)}")
    return split


def load_task(name: str, *, split: str = "default", data_dir: DataDir = None, **opts: Any) -> Task:
    """Load a task by name.

    - ``gsm8k``: splits ``test`` (default) and ``train``; gold = text after ``####``, commas removed.
    - ``mgsm``: the English file (split ``test``); the same problems as GSM8K test rows 0 to 249.
    - ``bbh/<task>``: one of the 27 BIG-Bench Hard tasks (split ``test``).
    - ``drop`` (split ``dev``, scored by token F1 in [0, 1]), ``gsm-hard``, ``svamp``, ``asdiv`` (split
      ``test``; option ``grades``, e.g. "3,4"): the files ADAS used, see `agentkit.tasks._adas`.
    - ``jsonl:<path>``: your own file, one JSON object per line. Options: ``input_field`` ("input"),
      ``target_field`` ("target"), ``id_field`` (None: ids are ``<file stem>/<row>``), ``scorer``
      ("exact"; any name in `SCORERS`), ``description``, ``answer_format``.
    - ``gen/<kind>``: generated tasks (arithmetic, boolean, dyck, word-sorting, object-counting,
      shuffled-objects). Options: ``seed`` (0), ``difficulty`` (1 to 5, default 2), ``size`` (100).
    - ``py/<name>``: a task defined in Python (`Task.from_records`) and registered in this process with
      `agentkit.tasks.register_task`; ``data_dir`` does not apply.

    Local data is found as described in `agentkit.tasks._data` (``data_dir`` / ``$AGENTKIT_DATA_DIR`` /
    ``../shared/data``); without it the hub is used when online, else `DatasetNotFound` is raised.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"a task name is a string such as 'gsm8k' or 'jsonl:data.jsonl', not {type(name).__name__}"
        )
    if name == "gsm8k":
        _reject_options(name, opts)
        return _load_gsm8k(_check_split(name, split, ("test", "train")), data_dir)
    if name == "mgsm":
        _reject_options(name, opts)
        _check_split(name, split, ("test",))
        return _load_mgsm(data_dir)
    if name in ADAS_TASKS:
        return load_adas_task(name, split, data_dir, **opts)
    if name.startswith(PY_PREFIX):
        _reject_options(name, opts)
        return registered_task(name, split)
    if name.startswith("bbh/"):
        _reject_options(name, opts)
        _check_split(name, split, ("test",))
        sub = name.removeprefix("bbh/")
        if sub not in BBH_TASKS:
            raise _unknown(name)
        return _load_bbh(sub, data_dir)
    if name.startswith("jsonl:"):
        _reject_options(name, opts, JSONL_OPTIONS)
        _check_split(name, split, ("default",))
        return load_jsonl_task(name.removeprefix("jsonl:"), **opts)
    if name.startswith("gen/"):
        _reject_options(name, opts, tuple(GEN_DEFAULTS))
        _check_split(name, split, ("default",))
        kind = name.removeprefix("gen/")
        if kind not in GENERATORS:
            raise _unknown(name)
        return _load_generated(kind, **opts)
    raise _unknown(name)


def check_task_name(name: str) -> None:
    """TaskError (as `load_task` raises it) when `name` names no task, without loading any data: for
    checking the task names of a whole plan (a sweep's grid) before its first run, whatever options
    each run will load the task with."""
    if not isinstance(name, str):
        raise TypeError(
            f"a task name is a string such as 'gsm8k' or 'jsonl:data.jsonl', not {type(name).__name__}"
        )
    if name in ("gsm8k", "mgsm") or name in ADAS_TASKS:
        return
    if name.startswith(PY_PREFIX):
        registered_task(name)
        return
    if name.startswith("jsonl:"):
        path = Path(name.removeprefix("jsonl:")).expanduser()
        if not path.is_file():
            raise TaskError(f"jsonl task: no file at {path}")
        return
    if name.startswith("bbh/") and name.removeprefix("bbh/") in BBH_TASKS:
        return
    if name.startswith("gen/") and name.removeprefix("gen/") in GENERATORS:
        return
    raise _unknown(name)


def _unknown(name: str) -> TaskError:
    close = difflib.get_close_matches(name, task_names(), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return TaskError(
        f"unknown task {name!r}.{hint} Known: gsm8k, mgsm, drop, gsm-hard, svamp, asdiv, bbh/<task> (27), "
        "gen/<kind>, jsonl:<path>, py/<registered name>; "
        "run `agentkit tasks list`."
    )


# --- GSM8K / MGSM -------------------------------------------------------------------------------------


def gsm8k_gold(answer: str) -> str:
    """The final answer of a GSM8K solution: the text after ``####``, stripped, commas removed."""
    return answer.split("####")[-1].strip().replace(",", "")


def _load_gsm8k(split: str, data_dir: DataDir) -> Task:
    rel = f"gsm8k/{split}.jsonl"
    path = _data.find_local(rel, data_dir)
    if path is not None:
        lines = _data.check_jsonl(path, ("question", "answer"))
        rows = _data.read_json_rows(path)
        source = str(path)
    elif _data.hub_allowed():
        lines = []
        rows = _data.read_hub_rows("openai/gsm8k", "main", split)
        source = "hub:openai/gsm8k"
    else:
        raise _data.not_found(f"gsm8k ({split})", rel, data_dir)
    examples = []
    for i, row in enumerate(rows):
        answer = str(row["answer"])
        if "####" not in answer:
            raise DatasetFormatError(
                "the answer has no '#### <final answer>' line", path=source, line=lines[i] if lines else None
            )
        examples.append(
            Example(
                id=f"gsm8k/{split}/{i}",
                input=str(row["question"]),
                target=gsm8k_gold(answer),
                metadata={"solution": answer},
            )
        )
    return Task(
        name="gsm8k",
        description=GSM8K_DESCRIPTION,
        answer_format=GSM8K_ANSWER_FORMAT,
        examples=examples,
        scorer_name="numeric",
        split=split,
        source=source,
    )


def _load_mgsm(data_dir: DataDir) -> Task:
    rel = "mgsm/mgsm_en.tsv"
    path = _data.find_local(rel, data_dir)
    if path is None:
        # Only the local file is supported: the hub copies of MGSM are community uploads.
        raise _data.not_found("mgsm", rel, data_dir, hub=False)
    examples = [
        Example(
            id=f"mgsm/test/{i}", input=q, target=a.strip().replace(",", ""), metadata={"gsm8k_test_row": i}
        )
        for i, (q, a) in enumerate(_data.read_tsv_pairs(path))
    ]
    return Task(
        name="mgsm",
        description=MGSM_DESCRIPTION,
        answer_format=GSM8K_ANSWER_FORMAT,
        examples=examples,
        scorer_name="numeric",
        split="test",
        source=str(path),
    )


# --- BBH ----------------------------------------------------------------------------------------------

_OPTION_LINE = re.compile(r"^\(([A-Z])\)\s?(.*)$")


def option_texts(question: str) -> dict[str, str]:
    """The ``(X) text`` option lines of a BBH question, as ``{"(A)": "text", ...}``."""
    out: dict[str, str] = {}
    for line in question.splitlines():
        m = _OPTION_LINE.match(line.strip())
        if m:
            out[f"({m.group(1)})"] = m.group(2).strip()
    return out


def letter_for_text_target(question: str, target: str) -> str | None:
    """For a multiple-choice row whose target is option *text* (3 BBH rows), the option letter at which
    the target's comma-separated pieces appear as consecutive options, e.g. ``Monsters, Inc`` is
    ``(A) Monsters`` + ``(B) Inc`` -> ``(A)``. None when no such run exists."""
    pieces = [p.strip() for p in target.split(",")]
    items = list(option_texts(question).items())
    texts = [t for _, t in items]
    for start in range(len(items) - len(pieces) + 1):
        if texts[start : start + len(pieces)] == pieces:
            return items[start][0]
    return None


def _bbh_description(task: str) -> str:
    spec = BBH_TASKS[task]
    return f"BIG-Bench Hard task {task}: {spec.description} Scored by exact match of the final answer."


def _load_bbh(task: str, data_dir: DataDir) -> Task:
    spec = BBH_TASKS[task]
    rel = f"bbh/{task}.json"
    path = _data.find_local(rel, data_dir)
    if path is not None:
        _data.check_bbh_json(path)
        rows = _data.read_json_rows(path, field="examples")
        source = str(path)
    elif _data.hub_allowed():
        rows = _data.read_hub_rows("lukaemon/bbh", task, "test")
        source = f"hub:lukaemon/bbh/{task}"
    else:
        raise _data.not_found(f"bbh/{task}", rel, data_dir)
    examples: list[Example] = []
    extra: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        question, target = str(row["input"]), str(row["target"])
        metadata: dict[str, Any] = {}
        if spec.scorer == "multiple_choice" and not re.fullmatch(r"\([A-Z]\)", target):
            letter = letter_for_text_target(question, target)
            metadata["text_target"] = True
            if letter is not None:
                extra.setdefault(target, []).append(letter)
                metadata["option_letter"] = letter
        examples.append(Example(id=f"bbh/{task}/{i}", input=question, target=target, metadata=metadata))
    return Task(
        name=f"bbh/{task}",
        description=_bbh_description(task),
        answer_format=spec.answer_format,
        examples=examples,
        scorer_name=spec.scorer,
        split="test",
        source=source,
        extra_answers=extra,
    )


# --- generated ----------------------------------------------------------------------------------------


def _load_generated(kind: str, **opts: Any) -> Task:
    params = {**GEN_DEFAULTS, **opts}
    for key in GEN_DEFAULTS:
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TaskError(f"gen/{kind}: option {key} must be an integer, got {value!r}")
    seed, difficulty, size = params["seed"], params["difficulty"], params["size"]
    if not MIN_DIFFICULTY <= difficulty <= MAX_DIFFICULTY:
        raise TaskError(
            f"gen/{kind}: difficulty must be {MIN_DIFFICULTY} to {MAX_DIFFICULTY}, got {difficulty}"
        )
    if size < 1:
        raise TaskError(f"gen/{kind}: size must be at least 1, got {size}")
    spec = GENERATORS[kind]
    return Task(
        name=f"gen/{kind}",
        description=f"{spec.description} Produced by agentkit from a seed (seed {seed}, difficulty {difficulty}).",
        answer_format=spec.answer_format,
        examples=generate(kind, seed=seed, difficulty=difficulty, size=size),
        scorer_name=spec.scorer,
        split="default",
        source="generated",
        params={"seed": seed, "difficulty": difficulty, "size": size},
    )


# --- listing ------------------------------------------------------------------------------------------


def list_tasks(*, data_dir: DataDir = None) -> list[TaskInfo]:
    """Every built-in task with its source and sizes, without loading examples or importing
    ``datasets`` (local files are counted; the hub is never contacted)."""
    infos: list[TaskInfo] = []
    sizes: dict[str, int] = {}
    sources: list[str] = []
    for split in ("test", "train"):
        path = _data.find_local(f"gsm8k/{split}.jsonl", data_dir)
        if path is not None:
            sizes[split] = _data.count_rows(path)
            sources.append(str(path.parent))
    infos.append(_info("gsm8k", GSM8K_DESCRIPTION, sizes, sources, "hub:openai/gsm8k", "numeric"))
    mgsm = _data.find_local("mgsm/mgsm_en.tsv", data_dir)
    infos.append(
        _info(
            "mgsm",
            MGSM_DESCRIPTION,
            {"test": _data.count_rows(mgsm)} if mgsm else {},
            [str(mgsm)] if mgsm else [],
            None,
            "numeric",
        )
    )
    infos.extend(adas_task_infos(data_dir))
    for task, spec in BBH_TASKS.items():
        path = _data.find_local(f"bbh/{task}.json", data_dir)
        size = {}
        if path is not None:
            try:
                size = {"test": len(json.loads(path.read_text(encoding="utf-8"))["examples"])}
            except (ValueError, KeyError, TypeError):
                size = {}
        infos.append(
            _info(
                f"bbh/{task}",
                spec.description,
                size,
                [str(path)] if path else [],
                f"hub:lukaemon/bbh/{task}",
                spec.scorer,
            )
        )
    for kind, gen in GENERATORS.items():
        infos.append(
            TaskInfo(
                name=f"gen/{kind}", description=gen.description, source="generated", scorer_name=gen.scorer
            )
        )
    infos.append(
        TaskInfo(
            name="jsonl:<path>",
            description="Your own JSONL file (options input_field, target_field, id_field, scorer).",
            source="your file",
            scorer_name="exact",
        )
    )
    return infos


def _info(
    name: str, description: str, sizes: dict[str, int], sources: list[str], hub: str | None, scorer: str
) -> TaskInfo:
    if sources:
        source, available = sources[0], True
    elif hub is not None:
        # Listing never probes the network; the hub is tried when the task is loaded.
        source, available = hub, not _data.declared_offline()
    else:
        source, available = "missing", False
    first_sentence = description.split(". ")[0].rstrip(".") + "."
    return TaskInfo(
        name=name,
        description=first_sentence,
        source=source,
        sizes=sizes,
        scorer_name=scorer,
        available=available,
    )
