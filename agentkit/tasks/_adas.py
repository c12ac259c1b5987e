"""The tasks ADAS evaluates beyond GSM8K and MGSM: DROP, and the math transfer set GSM-Hard, SVAMP, ASDiv.

The files are the ones ADAS ships (``../shared/data/{drop,gsm-hard,svamp,asdiv}``, see its README):

- ``drop``: ``drop/drop_v0_dev.jsonl.gz``, 9,536 rows (split ``dev``). The question shown to an agent is
  the row's ``context`` without its trailing ``Answer:`` cue; the target lists every accepted answer of
  ``ref_text`` separated by ``|`` (scorer ``f1``). All rows are kept (ADAS set aside the first and the
  last as few-shot examples; agentkit uses no few-shot examples).
- ``gsm-hard``: ``gsm-hard/gsmhardv2.jsonl``, 1,319 rows (split ``test``); the target is the float
  written out in full (``-9867630``, ``14053029.666666666``), scorer ``numeric_approx``. The reference
  program (``code``) is never loaded. Without the local file the authors' hub copy
  ``reasoning-machines/gsm-hard`` is used.
- ``svamp``: ``svamp/SVAMP.json``, 1,000 problems (split ``test``); question ``Body + " " + Question``,
  target the whole-number ``Answer``, scorer ``numeric``.
- ``asdiv``: ``asdiv/ASDiv.xml`` (split ``test``). Of its 2,305 problems, the 2,084 whose answer is one
  number, optionally followed by one unit in parentheses (``9 (apples)``, ``2.5 (cups of flour)``), are
  kept; the others (names, yes/no, times, ratios, several numbers) have no numeric answer to compare.
  Question ``Body + " " + Question``, scorer ``numeric``. Option ``grades`` (e.g. ``"3,4"``) keeps only
  those grades: ADAS used grades 3 and 4.

DROP, SVAMP and ASDiv are read from local files only: their hub copies are community uploads in other
shapes (DROP's lacks the extra accepted answers ADAS scored against).
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentkit.errors import DatasetFormatError, TaskError
from agentkit.tasks import _data
from agentkit.tasks._catalog import (
    ASDIV_DESCRIPTION,
    DROP_ANSWER_FORMAT,
    DROP_DESCRIPTION,
    GSM8K_ANSWER_FORMAT,
    GSM_HARD_ANSWER_FORMAT,
    GSM_HARD_DESCRIPTION,
    SVAMP_DESCRIPTION,
)
from agentkit.tasks._drop import ANSWER_SEPARATOR, accepted_answers
from agentkit.tasks._models import Example, Task, TaskInfo

DataDir = Path | str | None

DROP_FILE = "drop/drop_v0_dev.jsonl.gz"
GSM_HARD_FILE = "gsm-hard/gsmhardv2.jsonl"
SVAMP_FILE = "svamp/SVAMP.json"
ASDIV_FILE = "asdiv/ASDiv.xml"
GSM_HARD_HUB = "reasoning-machines/gsm-hard"

ADAS_TASKS: dict[str, tuple[str, str, str]] = {
    "drop": (DROP_FILE, "dev", "f1"),
    "gsm-hard": (GSM_HARD_FILE, "test", "numeric_approx"),
    "svamp": (SVAMP_FILE, "test", "numeric"),
    "asdiv": (ASDIV_FILE, "test", "numeric"),
}
"""Name -> (file under the data directory, its one split, scorer)."""

_ASDIV_NUMBER = re.compile(r"^\s*(-?\d[\d,]*(?:\.\d+)?)\s*(?:\([^()]*\))?\s*$")
_ANSWER_CUE = re.compile(r"\s*Answer:\s*$")


def number_text(value: float) -> str:
    """A float target written out in full, without exponent: ``3.0`` -> ``"3"``, ``2.0107e-06`` ->
    ``"0.0000020107"`` (the scorers read plain decimals only)."""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def load_adas_task(name: str, split: str, data_dir: DataDir, **opts: Any) -> Task:
    """Load one of `ADAS_TASKS` (the caller has checked the name)."""
    relpath, only_split, scorer = ADAS_TASKS[name]
    if split not in ("default", only_split):
        raise TaskError(f"task {name!r} has no split {split!r}; splits: {only_split}")
    allowed = ("grades",) if name == "asdiv" else ()
    extra = sorted(set(opts) - set(allowed))
    if extra:
        raise TaskError(
            f"task {name!r} does not take option(s) {', '.join(extra)} (accepted: {', '.join(allowed) or 'none'})"
        )
    path = _data.find_local(relpath, data_dir)
    if path is None and not (name == "gsm-hard" and _data.hub_allowed()):
        raise _data.not_found(name, relpath, data_dir, hub=name == "gsm-hard")
    params: dict[str, Any] = {}
    if name == "drop":
        assert path is not None
        examples = _drop_examples(path)
        description, answer_format = DROP_DESCRIPTION, DROP_ANSWER_FORMAT
    elif name == "gsm-hard":
        examples = _gsm_hard_examples(path)
        description, answer_format = GSM_HARD_DESCRIPTION, GSM_HARD_ANSWER_FORMAT
    elif name == "svamp":
        assert path is not None
        examples = _svamp_examples(path)
        description, answer_format = SVAMP_DESCRIPTION, GSM8K_ANSWER_FORMAT
    else:
        assert path is not None
        grades = _grades(opts.get("grades"))
        examples = _asdiv_examples(path, grades)
        description, answer_format = ASDIV_DESCRIPTION, GSM8K_ANSWER_FORMAT
        if grades is not None:
            params["grades"] = ",".join(sorted(grades))
    return Task(
        name=name,
        description=description,
        answer_format=answer_format,
        examples=examples,
        scorer_name=scorer,
        split=only_split,
        source=str(path) if path is not None else f"hub:{GSM_HARD_HUB}",
        params=params,
    )


# --- DROP ---------------------------------------------------------------------------------------------


def _gzip_json_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        with gzip.open(path, mode="rt", encoding="utf-8") as handle:
            for lineno, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise DatasetFormatError(_data.json_problem(exc), path=str(path), line=lineno) from None
                if not isinstance(row, dict):
                    raise DatasetFormatError("a line must hold a JSON object", path=str(path), line=lineno)
                rows.append((lineno, row))
    except (OSError, EOFError) as exc:
        raise DatasetFormatError(f"cannot read the gzip file: {exc}", path=str(path)) from exc
    if not rows:
        raise DatasetFormatError("the file holds no rows", path=str(path))
    return rows


def _drop_examples(path: Path) -> list[Example]:
    examples: list[Example] = []
    for i, (lineno, row) in enumerate(_gzip_json_lines(path)):
        context, refs = row.get("context"), row.get("ref_text")
        if not isinstance(context, str) or not isinstance(refs, str):
            raise DatasetFormatError(
                "needs string fields 'context' and 'ref_text'", path=str(path), line=lineno
            )
        answers = accepted_answers(refs)
        if not answers:
            raise DatasetFormatError("'ref_text' holds no accepted answer", path=str(path), line=lineno)
        examples.append(
            Example(
                id=f"drop/dev/{i}",
                input=_ANSWER_CUE.sub("", context),
                target=ANSWER_SEPARATOR.join(answers),
                metadata={"answers": answers},
            )
        )
    return examples


# --- GSM-Hard -----------------------------------------------------------------------------------------


def _gsm_hard_examples(path: Path | None) -> list[Example]:
    if path is not None:
        lines = _data.check_jsonl(path, ("input", "target"))
        rows = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip()]
        where = str(path)
    else:
        lines = []
        rows = _data.read_hub_rows(GSM_HARD_HUB, None, "train")
        where = f"hub:{GSM_HARD_HUB}"
    examples: list[Example] = []
    for i, row in enumerate(rows):
        target = row.get("target")
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise DatasetFormatError(
                f"'target' must be a number, got {target!r}", path=where, line=lines[i] if lines else None
            )
        examples.append(
            Example(id=f"gsm-hard/test/{i}", input=str(row["input"]), target=number_text(float(target)))
        )
    return examples


# --- SVAMP --------------------------------------------------------------------------------------------


def _svamp_examples(path: Path) -> list[Example]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(_data.json_problem(exc), path=str(path), line=exc.lineno) from None
    if not isinstance(doc, list) or not doc:
        raise DatasetFormatError("expected a non-empty JSON array of problems", path=str(path))
    examples: list[Example] = []
    for i, row in enumerate(doc):
        if not isinstance(row, dict) or not all(k in row for k in ("ID", "Body", "Question", "Answer")):
            raise DatasetFormatError(f"problem [{i}] needs ID, Body, Question and Answer", path=str(path))
        answer = row["Answer"]
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise DatasetFormatError(f"problem {row['ID']}: 'Answer' is not a number", path=str(path))
        examples.append(
            Example(
                id=f"svamp/{row['ID']}",
                input=_join(row["Body"], row["Question"]),
                target=number_text(float(answer)),
                metadata={"type": row.get("Type")},
            )
        )
    return examples


def _join(body: Any, question: Any) -> str:
    return f"{str(body or '').strip()} {str(question or '').strip()}".strip()


# --- ASDiv --------------------------------------------------------------------------------------------


def _grades(value: Any) -> set[str] | None:
    if value is None:
        return None
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    grades = {str(p).strip() for p in parts if str(p).strip()}
    if not grades or not all(g.isdigit() and 1 <= int(g) <= 6 for g in grades):
        raise TaskError(f"asdiv: grades must be numbers 1 to 6 separated by commas, e.g. 3,4; got {value!r}")
    return grades


def _asdiv_problems(path: Path) -> list[ET.Element]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DatasetFormatError(f"invalid XML ({exc})", path=str(path), line=exc.position[0]) from None
    problems = root.findall(".//Problem")
    if not problems:
        raise DatasetFormatError("no <Problem> elements", path=str(path))
    return problems


def asdiv_answer(text: str) -> str | None:
    """The number of an ASDiv answer that is one number with at most one unit in parentheses
    (``"9 (apples)"`` -> ``"9"``, ``"1,000"`` -> ``"1000"``), else None (``"3:30 p.m."``, ``"Yes"``,
    ``"5 (years old); 15 (years old)"``)."""
    match = _ASDIV_NUMBER.match(text)
    return match.group(1).replace(",", "") if match else None


def _asdiv_examples(path: Path, grades: set[str] | None) -> list[Example]:
    examples: list[Example] = []
    for problem in _asdiv_problems(path):
        answer_text = problem.findtext("Answer") or ""
        number = asdiv_answer(answer_text)
        grade = problem.get("Grade") or ""
        if number is None or (grades is not None and grade not in grades):
            continue
        examples.append(
            Example(
                id=f"asdiv/{problem.get('ID')}",
                input=_join(problem.findtext("Body"), problem.findtext("Question")),
                target=number,
                metadata={
                    "grade": grade,
                    "solution_type": problem.findtext("Solution-Type"),
                    "answer_text": answer_text,
                },
            )
        )
    return examples


# --- listing ------------------------------------------------------------------------------------------


def _size(name: str, path: Path) -> int | None:
    try:
        if name == "drop":
            with gzip.open(path, mode="rb") as handle:
                return sum(1 for line in handle if line.strip())
        if name == "gsm-hard":
            return _data.count_rows(path)
        if name == "svamp":
            return len(json.loads(path.read_text(encoding="utf-8")))
        return sum(1 for p in _asdiv_problems(path) if asdiv_answer(p.findtext("Answer") or "") is not None)
    except (OSError, EOFError, ValueError, TypeError, DatasetFormatError):
        return None


def adas_task_infos(data_dir: DataDir) -> list[TaskInfo]:
    """Listing rows for `ADAS_TASKS`, counted from local files (the hub is never contacted)."""
    descriptions = {
        "drop": DROP_DESCRIPTION,
        "gsm-hard": GSM_HARD_DESCRIPTION,
        "svamp": SVAMP_DESCRIPTION,
        "asdiv": ASDIV_DESCRIPTION,
    }
    infos: list[TaskInfo] = []
    for name, (relpath, split, scorer) in ADAS_TASKS.items():
        path = _data.find_local(relpath, data_dir)
        size = _size(name, path) if path is not None else None
        if path is not None:
            source, available = str(path), True
        elif name == "gsm-hard":
            source, available = f"hub:{GSM_HARD_HUB}", not _data.declared_offline()
        else:
            source, available = "missing", False
        infos.append(
            TaskInfo(
                name=name,
                description=descriptions[name].split(". ")[0].rstrip(".") + ".",
                source=source,
                sizes={split: size} if size is not None else {},
                scorer_name=scorer,
                available=available,
            )
        )
    return infos
