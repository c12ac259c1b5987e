"""How an LLM call of agent code becomes chat messages, and how a reply becomes field values.

Both APIs (`LLMAgentBase` and `ask`) share this, so the prompts they produce have one shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._info import Info

DEFAULT_ROLE = "helpful assistant"

FieldSpec = Sequence[str] | Mapping[str, str]


def normalise_fields(fields: FieldSpec, *, allow_empty: bool = False) -> dict[str, str]:
    """Field name -> description given by the caller ("" when only names were given).

    No fields at all is an error unless `allow_empty`: ADAS lets ``LLMAgentBase([], ...)`` make its call
    and return an empty list, so `LLMAgentBase` allows it; `ask` does not.
    """
    if isinstance(fields, str):
        # A bare string is one field, not a sequence of one-letter fields.
        return {fields: ""}
    if isinstance(fields, Mapping):
        pairs = [(str(k), str(v)) for k, v in fields.items()]
    else:
        pairs = [(str(k), "") for k in fields]
    if not pairs and not allow_empty:
        raise ValueError("an LLM call needs at least one output field")
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"output fields must be distinct, got {names}")
    return dict(pairs)


def _describe(name: str, given: str, answer_format: str) -> str:
    if "answer" in name.lower() and answer_format.strip():
        return f"{given.strip()} {answer_format.strip()}".strip()
    if given.strip():
        return given.strip()
    if name == "thinking":
        return "Your reasoning, step by step, written before the other fields."
    return f"Your {name.replace('_', ' ')}."


def _you_are(role: str) -> str:
    role = role.strip().rstrip(".")
    if role.lower().startswith(("you ", "you're")):
        return role + "."
    first = role.split(" ", 1)[0].lower()
    if first in {"a", "an", "the"}:
        return f"You are {role}."
    article = "an" if role[:1].lower() in "aeiou" else "a"
    return f"You are {article} {role}."


def system_message(role: str, fields: Mapping[str, str], answer_format: str) -> str:
    """The system prompt: who the model is and the exact JSON reply format (with no fields, the empty
    object ``{}``)."""
    if not fields:
        return f"{_you_are(role or DEFAULT_ROLE)}\n\nReply with the empty JSON object {{}} and nothing else."
    keys = ", ".join(json.dumps(name) for name in fields)
    lines = [
        _you_are(role or DEFAULT_ROLE),
        "",
        f"Reply with a JSON object with exactly these keys: {keys}.",
    ]
    lines += [
        f"- {json.dumps(name)}: {_describe(name, given, answer_format)}" for name, given in fields.items()
    ]
    lines.append("Every value is a string. Write nothing outside the JSON object.")
    return "\n".join(lines)


def _flatten(inputs: Any) -> Iterable[Any]:
    # Agents often build inputs as `[taskInfo] + answers` or even `[taskInfo, answers]`; accept both.
    if isinstance(inputs, Info | str) or not isinstance(inputs, Iterable):
        yield inputs
        return
    for item in inputs:
        yield from _flatten(item)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render_inputs(inputs: Any, *, me: str | None = None) -> str:
    """The input infos as readable sections: the task as the question, the others by name and author.

    A plain string (our own API's prompt) is used as it is.
    """
    if isinstance(inputs, str):
        return inputs
    parts: list[str] = []
    for item in _flatten(inputs):
        if item is None:
            continue
        if not isinstance(item, Info):
            parts.append(f"### Note\n{_text(item)}")
            continue
        if item.name == "task":
            parts.append(f"## Task\n{_text(item.content)}")
            continue
        author = str(item.author)
        if me is not None and author == me:
            author += " (you)"
        heading = f"### {item.name} by {author}"
        if isinstance(item.iteration_idx, int) and item.iteration_idx >= 0:
            heading += f", round {item.iteration_idx + 1}"
        parts.append(f"{heading}\n{_text(item.content)}")
    return "\n\n".join(parts)


def build_messages(
    inputs: Any, instruction: str, *, role: str, fields: Mapping[str, str], answer_format: str, me: str | None
) -> list[dict[str, str]]:
    """The chat messages for one call: the system prompt, then the inputs followed by the instruction."""
    body = render_inputs(inputs, me=me)
    instruction = _text(instruction).strip()
    user = f"{body}\n\n{instruction}" if body and instruction else body or instruction
    return [
        {"role": "system", "content": system_message(role, fields, answer_format)},
        {"role": "user", "content": user},
    ]


def fields_from_response(response: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """The reply's field values as strings, in the order of `names`.

    A field the reply lacks (or left empty when the host reports a parse error) is filled so the agent
    can go on: the last field gets the raw reply text, the others "". The host records the parse error.
    """
    got = response.get("fields") or {}
    folded = {str(k).lower(): v for k, v in got.items()}
    raw = _text(response.get("raw") or "")
    parse_error = response.get("parse_error")
    out: dict[str, str] = {}
    for i, name in enumerate(names):
        value = got.get(name, folded.get(name.lower()))
        if value is None or (parse_error and value == ""):
            value = raw if i == len(names) - 1 else ""
        out[name] = _text(value)
    return out
