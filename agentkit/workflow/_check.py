"""Reading a workflow the meta agent wrote, and the static checks that say what is wrong in its words."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

from agentkit.workflow._spec import OPERATORS, WorkflowSpec, model_calls

MAX_MODEL_CALLS = 24
"""Model calls one question may cost in a workflow's own steps; past it the workflow is rejected."""


class WorkflowProblem(ValueError):
    """A workflow that cannot be used; `problems` lists each reason in words the meta agent can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """Pydantic's error location in the meta agent's words: "step 2 (generate) samples"."""
    parts: list[str] = []
    for i, key in enumerate(loc):
        after_steps = i > 0 and loc[i - 1] == "steps"
        if isinstance(key, int) and after_steps:
            step = data["steps"][key] if isinstance(data, Mapping) else None
            op = step.get("op") if isinstance(step, Mapping) else None
            parts.append(f"step {key + 1}" + (f" ({op})" if op else ""))
        elif key == "steps" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            continue
        elif i > 1 and loc[i - 2] == "steps" and key in OPERATORS:
            continue  # the union's tag, already named with the step
        else:
            parts.append(str(key))
    return " ".join(parts) or "the workflow"


def _problems_of(exc: ValidationError, data: Any) -> list[str]:
    out = []
    for err in exc.errors():
        if err["type"] == "union_tag_invalid":
            out.append(
                f"{_where(err['loc'], data)}: unknown operator {err['input'].get('op')!r}; "
                f"the operators are {', '.join(OPERATORS)}"
            )
        elif err["type"] == "union_tag_not_found":
            out.append(f"{_where(err['loc'], data)}: a step needs an 'op' naming its operator")
        elif err["type"] == "extra_forbidden":
            out.append(f"{_where(err['loc'][:-1], data)}: unknown parameter {err['loc'][-1]!r}")
        else:
            out.append(f"{_where(err['loc'], data)}: {err['msg']}")
    return out


def parse_workflow(data: str | Mapping[str, Any]) -> WorkflowSpec:
    """A `WorkflowSpec` from JSON text or a decoded object; raises `WorkflowProblem` listing every fault.
    A reply in the ``first``/``then`` shape (`workflow_schema(first=...)`) is read as ``steps``.

    >>> parse_workflow('{"name": "CoT", "steps": [{"op": "generate"}]}').steps[0].op
    'generate'
    """
    if isinstance(data, str):
        try:
            data = json.loads(data, strict=False)  # a raw line break inside a string is still text
        except ValueError as exc:
            raise WorkflowProblem([f"the workflow is not valid JSON: {exc}"]) from exc
    if not isinstance(data, Mapping):
        raise WorkflowProblem(["the workflow must be a JSON object with name, thought and steps"])
    data = dict(data)
    if "first" in data and "steps" not in data:  # the shape of a reply told which operator comes first
        then = data.pop("then", None) or []
        data["steps"] = [data.pop("first"), *(then if isinstance(then, list) else [then])]
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise WorkflowProblem(_problems_of(exc, data)) from exc


def workflow_problems(
    spec: WorkflowSpec, known_agents: Collection[str], *, max_calls: int = MAX_MODEL_CALLS
) -> list[str]:
    """What makes `spec` unusable in this archive: ids it does not hold, more model calls per question
    than `max_calls`."""
    problems = [
        f"agent {agent_id!r} is not in the archive (known: {', '.join(sorted(known_agents)) or 'none'})"
        for agent_id in spec.agent_ids()
        if agent_id not in known_agents
    ]
    calls = model_calls(spec)
    if calls > max_calls:
        problems.append(
            f"the workflow makes up to {calls} model calls per question; keep it at {max_calls} or fewer"
        )
    return problems
