"""The workflow spec as a JSON schema a server can enforce as a grammar (llama.cpp turns a schema in
`response_format` into one), so that every reply of a small model parses into a usable workflow.

Hand-written rather than pydantic's `model_json_schema()`: grammar converters handle flat schemas with
`enum` and `maxLength` well, and `$ref`, discriminators and numeric ranges unevenly. Numbers are offered
as a few enumerated values and archive ids as an enum of the ids that exist, so a reply that follows the
grammar also passes the static checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentkit.workflow._spec import MAX_STEPS, OPERATORS


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit}


def _step(op: str, **params: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"op": {"type": "string", "enum": [op]}, **params}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


FOCUS_OPERATORS = ("generate", "step_back", "program", "debate", "critique_revise", "verify")
"""Operators a grammar-constrained proposal may be told to start with (see `workflow_schema(first=...)`)."""


def _most_steps(max_steps: int, max_calls: int | None) -> int:
    # At least three calls per step, so a call budget never leaves only one-call operators.
    most = min(max_steps, MAX_STEPS)
    return most if max_calls is None else max(1, min(most, max_calls // 3))


def _all_steps(agent_ids: Sequence[str], text_chars: int, allowance: int) -> list[dict[str, Any]]:
    """Every operator with the parameter values whose worst cost (model calls, counting the plain
    answer a vote, critique or verify asks for first) is within `allowance`; an operator with no such
    value is left out."""

    def fit(values: list[int], cost: Callable[[int], int]) -> list[int]:
        return [v for v in values if cost(v) <= allowance]

    samples = fit([1, 3, 5], lambda n: n)
    rounds = fit([1, 2], lambda r: 1 + 2 * r)
    agents = fit([2, 3], lambda a: 2 * a + 1)
    retries = fit([1, 2], lambda r: 1 + 2 * r)
    steps: list[dict[str, Any]] = []
    if samples:
        steps.append(
            _step(
                "generate",
                instruction=_text(text_chars),
                role=_text(40),
                temperature={"type": "number", "enum": [0.0, 0.5, 0.8, 1.0]},
                samples={"type": "integer", "enum": samples},
            )
        )
    steps.append(_step("vote"))
    if rounds:
        steps.append(
            _step("critique_revise", rounds={"type": "integer", "enum": rounds}, critic_role=_text(40))
        )
    if agents:
        steps.append(
            _step(
                "debate",
                agents={"type": "integer", "enum": agents},
                rounds={"type": "integer", "enum": [1]},
                judge_role=_text(40),
            )
        )
    steps.append(_step("step_back", instruction=_text(text_chars)))
    if allowance >= 2:
        steps.append(_step("program", instruction=_text(text_chars)))
    if retries:
        steps.append(_step("verify", retries={"type": "integer", "enum": retries}))
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
    return steps


def offered_operators(max_steps: int = 3, max_calls: int | None = None) -> list[str]:
    """The operators `workflow_schema` offers under these limits (archive operators aside).

    >>> "debate" in offered_operators(max_calls=6)
    False
    """
    most = _most_steps(max_steps, max_calls)
    allowance = 10**6 if max_calls is None else max_calls // most
    return [s["properties"]["op"]["enum"][0] for s in _all_steps((), 1, allowance)]


def workflow_schema(
    agent_ids: Sequence[str] = (),
    *,
    max_steps: int = 3,
    max_calls: int | None = None,
    text_chars: int = 160,
    reflection: bool = False,
    first: str | None = None,
) -> dict[str, Any]:
    """A JSON schema for `{thought, name, steps}` whose every instance is a valid `WorkflowSpec`.

    `agent_ids` are the archive agents `call_agent` and `route` may name (those operators are left out
    when there are fewer than one or two). `max_steps` and `text_chars` keep a small model's replies short;
    with the default 3 steps the costliest reply (three debates of three) makes 21 model calls, under
    `MAX_MODEL_CALLS`. `max_calls` bounds that worst case further: the steps shrink so that each may
    still cost three calls, and only parameter values within each step's share stay on offer (e.g. 6:
    two steps, no debate, at most three samples). `reflection` adds a leading "reflection" text (the
    self-review reply).

    `first` names the operator the workflow must start with. The reply then has ``first`` (that step)
    and ``then`` (the rest) instead of ``steps``; `parse_workflow` joins them. A small model left free
    proposes its favourite composition again and again; a seeded rotation of first operators makes it
    explore the operator set while it still chooses the parameters and the rest.
    """
    most = _most_steps(max_steps, max_calls)
    allowance = 10**6 if max_calls is None else max_calls // most
    steps = _all_steps(agent_ids, text_chars, allowance)
    head = {"reflection": _text(300)} if reflection else {}
    body: dict[str, Any] = {
        "steps": {"type": "array", "items": {"anyOf": steps}, "minItems": 1, "maxItems": most}
    }
    if first is not None:
        leads = [s for s in steps if s["properties"]["op"]["enum"] == [first]]
        if not leads:
            raise ValueError(f"operator {first!r} is not offered under these limits")
        body = {"first": leads[0], "then": {"type": "array", "items": {"anyOf": steps}, "maxItems": most - 1}}
    props = {**head, "thought": _text(300), "name": _text(40), **body}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
