"""The workflow spec as a JSON schema a server can enforce as a grammar (llama.cpp turns a schema in
`response_format` into one), so that every reply of a small model parses into a usable workflow.

Hand-written rather than pydantic's `model_json_schema()`: grammar converters handle flat schemas with
`enum` and `maxLength` well, and `$ref`, discriminators and numeric ranges unevenly. Numbers are offered
as a few enumerated values and archive ids as an enum of the ids that exist, so a reply that follows the
grammar also passes the static checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentkit.workflow._spec import MAX_STEPS, OPERATORS


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit}


def _step(op: str, **params: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"op": {"type": "string", "enum": [op]}, **params}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


FOCUS_OPERATORS = ("generate", "step_back", "program", "debate", "critique_revise", "verify")
"""Operators a grammar-constrained proposal may be told to start with (see `workflow_schema(first=...)`)."""


def workflow_schema(
    agent_ids: Sequence[str] = (),
    *,
    max_steps: int = 3,
    text_chars: int = 160,
    reflection: bool = False,
    first: str | None = None,
) -> dict[str, Any]:
    """A JSON schema for `{thought, name, steps}` whose every instance is a valid `WorkflowSpec`.

    `agent_ids` are the archive agents `call_agent` and `route` may name (those operators are left out
    when there are fewer than one or two). `max_steps` and `text_chars` keep a small model's replies short;
    with the default 3 steps the costliest reply (three debates of three) makes 21 model calls, under
    `MAX_MODEL_CALLS`. `reflection` adds a leading "reflection" text (the self-review reply).

    `first` names the operator the workflow must start with. The reply then has ``first`` (that step)
    and ``then`` (the rest) instead of ``steps``; `parse_workflow` joins them. A small model left free
    proposes its favourite composition again and again; a seeded rotation of first operators makes it
    explore the operator set while it still chooses the parameters and the rest.
    """
    steps = [
        _step(
            "generate",
            instruction=_text(text_chars),
            role=_text(40),
            temperature={"type": "number", "enum": [0.0, 0.5, 0.8, 1.0]},
            samples={"type": "integer", "enum": [1, 3, 5]},
        ),
        _step("vote"),
        _step("critique_revise", rounds={"type": "integer", "enum": [1, 2]}, critic_role=_text(40)),
        _step(
            "debate",
            agents={"type": "integer", "enum": [2, 3]},
            rounds={"type": "integer", "enum": [1]},
            judge_role=_text(40),
        ),
        _step("step_back", instruction=_text(text_chars)),
        _step("program", instruction=_text(text_chars)),
        _step("verify", retries={"type": "integer", "enum": [1, 2]}),
    ]
    ids = list(dict.fromkeys(agent_ids))
    if ids:
        steps.append(_step("call_agent", agent_id={"type": "string", "enum": ids}))
    if len(ids) >= 2:
        steps.append(
            _step(
                "route",
                agent_ids={
                    "type": "array",
                    "items": {"type": "string", "enum": ids},
                    "minItems": 2,
                    "maxItems": min(3, len(ids)),
                },
            )
        )
    assert {s["properties"]["op"]["enum"][0] for s in steps} <= set(OPERATORS)
    head = {"reflection": _text(300)} if reflection else {}
    most = min(max_steps, MAX_STEPS)
    body: dict[str, Any] = {
        "steps": {"type": "array", "items": {"anyOf": steps}, "minItems": 1, "maxItems": most}
    }
    if first is not None:
        (lead,) = [s for s in steps if s["properties"]["op"]["enum"] == [first]]
        body = {"first": lead, "then": {"type": "array", "items": {"anyOf": steps}, "maxItems": most - 1}}
    props = {**head, "thought": _text(300), "name": _text(40), **body}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
