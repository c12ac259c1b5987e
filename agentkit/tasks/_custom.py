"""Tasks you define: a JSONL file (``jsonl:<path>``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentkit.errors import DatasetFormatError, TaskError
from agentkit.tasks import _data
from agentkit.tasks._models import Example, Task
from agentkit.tasks._scorers import SCORERS


def as_text(value: Any) -> str:
    """A JSON value as target text: strings as they are, ``3.0`` as ``"3"``, lists/objects/booleans as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value) if isinstance(value, list | dict | bool) else str(value)


# --- JSONL --------------------------------------------------------------------------------------------

JSONL_OPTIONS = ("input_field", "target_field", "id_field", "scorer", "description", "answer_format")


def load_jsonl_task(
    path_text: str,
    *,
    input_field: str = "input",
    target_field: str = "target",
    id_field: str | None = None,
    scorer: str = "exact",
    description: str | None = None,
    answer_format: str | None = None,
) -> Task:
    """A task from a JSONL file (``jsonl:<path>``; options as `agentkit.tasks.load_task` lists them)."""
    if scorer not in SCORERS:
        raise TaskError(f"unknown scorer {scorer!r}; known: {', '.join(sorted(SCORERS))}")
    if not path_text.strip():
        raise TaskError("jsonl task without a path: write jsonl:<path>, e.g. jsonl:data/my_task.jsonl")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise TaskError(f"jsonl task: no file at {path}")
    required = (input_field, target_field) + ((id_field,) if id_field else ())
    lines = _data.check_jsonl(path, required)
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
        meta = {k: v for k, v in row.items() if k not in required and v is not None}
        examples.append(
            Example(id=ex_id, input=str(row[input_field]), target=as_text(row[target_field]), metadata=meta)
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
    )
