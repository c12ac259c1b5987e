"""Named fields from a model's reply: the request for JSON, and a tolerant parser.

Weak models wrap JSON in code fences, add prose around it, use Python quoting, leave trailing commas or
stop half-way. The parser tries, in order: fenced blocks, the whole text, every ``{...}`` in the text
(each as JSON, JSON without trailing commas, then as a Python literal), and last ``field: value`` lines.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

FieldSpec = list[str] | type[BaseModel]

# Kept short and neutral: callers (the runtime, the meta agent) describe the fields themselves.
_INSTRUCTION = (
    "Reply with a single JSON object and nothing else, with exactly these keys: {keys}. "
    "Every value is a string."
)

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|python|py)?[ \t]*\n?(.*?)```", re.DOTALL)
# A quoted string (either quote) or one of the words to replace; strings are matched first so that
# words inside them are left alone.
_STRING_OR = r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|"
_JSON_WORDS = re.compile(_STRING_OR + r"\b(true|false|null)\b")
_TRAILING_COMMA = re.compile(_STRING_OR + r"(,)(?=\s*[}\]])")
_PY_WORDS = {"true": "True", "false": "False", "null": "None"}


def field_names(fields: FieldSpec) -> list[str]:
    """The requested field names, in order."""
    if isinstance(fields, type) and issubclass(fields, BaseModel):
        return list(fields.model_fields)
    if isinstance(fields, str):  # list("answer") would ask for the fields a, n, s, w, e, r
        raise TypeError(f"fields must be a list of names such as [{fields!r}], not the string {fields!r}")
    names = list(fields)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError("fields must be a non-empty list of names or a pydantic model class")
    return names


def format_instruction(fields: FieldSpec) -> str:
    """The instruction asking for a JSON object with these fields (with descriptions from a model)."""
    names = field_names(fields)
    text = _INSTRUCTION.format(keys=", ".join(json.dumps(n) for n in names))
    if isinstance(fields, type) and issubclass(fields, BaseModel):
        described = [
            f"- {name}: {info.description}" for name, info in fields.model_fields.items() if info.description
        ]
        if described:
            text += "\n" + "\n".join(described)
    return text


def with_instruction(messages: list[dict[str, str]], instruction: str) -> list[dict[str, str]]:
    """`messages` with `instruction` appended to the system message (or as a new first one)."""
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system":
        out[0]["content"] = f"{out[0].get('content', '')}\n\n{instruction}".lstrip()
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


@dataclass
class ParsedFields:
    """The outcome of parsing: every requested field (``""`` when missing) and what went wrong."""

    fields: dict[str, str]
    missing: list[str]
    error: str | None

    @property
    def found_any(self) -> bool:
        """True when at least one requested field was found."""
        return len(self.missing) < len(self.fields)


def parse_fields(text: str, names: list[str]) -> ParsedFields:
    """Read `names` from a reply, as tolerantly as is safe; never raises."""
    best: dict[str, Any] = {}
    saw_object = False
    for obj in _candidate_objects(text):
        saw_object = True
        matched = _match_keys(obj, names)
        if len(matched) > len(best):
            best = matched
            if len(best) == len(names):
                break
    how = "JSON"
    if len(best) < len(names):
        loose = _loose_fields(text, [n for n in names if n not in best])
        if loose:
            best = {**best, **loose}
            how = "text"
    fields = {name: to_text(best[name]) if name in best else "" for name in names}
    missing = [name for name in names if name not in best]
    if not missing:
        return ParsedFields(fields, [], None)
    if not best:
        what = "no JSON object" if not saw_object else "a JSON object without the requested keys"
        error = f"reply has {what}; expected keys {names}"
    else:
        error = f"missing fields {missing} (others read from {how})"
    return ParsedFields(fields, missing, error)


def to_text(value: Any) -> str:
    """A field value as a string: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _candidate_objects(text: str) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    chunks = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in chunks:
        for piece in (chunk, *_braced_spans(chunk)):
            piece = piece.strip()
            if piece in seen or "{" not in piece:
                continue
            seen.add(piece)
            obj = _load_object(piece)
            if obj is not None:
                yield obj
                yield from (v for v in obj.values() if isinstance(v, dict))


def _braced_spans(text: str) -> Iterator[str]:
    """Every balanced ``{...}`` span, outermost first, skipping braces inside quoted strings."""
    starts: list[int] = []
    quote: str | None = None
    escaped = False
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'" and starts:
            # An apostrophe in prose ("don't") is not a string; only quotes inside an object count.
            quote = ch
        elif ch == "{":
            starts.append(i)
        elif ch == "}" and starts:
            spans.append((starts.pop(), i + 1))
    if starts:  # unclosed object (reply cut off): offer what is there, closed
        spans.append((starts[0], len(text)))
    spans.sort(key=lambda s: (s[0], -s[1]))
    for start, end in spans:
        piece = text[start:end]
        yield piece if piece.rstrip().endswith("}") else piece + ('"}' if quote else "}")


def _load_object(piece: str) -> dict[str, Any] | None:
    attempts = (
        lambda s: json.loads(s, strict=False),
        lambda s: json.loads(_sub_outside_strings(_TRAILING_COMMA, s, ""), strict=False),
        ast.literal_eval,
        lambda s: ast.literal_eval(_sub_outside_strings(_JSON_WORDS, s, None)),
    )
    for attempt in attempts:
        try:
            obj = attempt(piece)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(obj, dict):
            return {str(k): v for k, v in obj.items()}
    return None


def _sub_outside_strings(pattern: re.Pattern[str], text: str, replacement: str | None) -> str:
    def repl(match: re.Match[str]) -> str:
        word = match.group(1)
        if word is None:
            return match.group(0)
        return _PY_WORDS[word] if replacement is None else replacement

    return pattern.sub(repl, text)


def _normal(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().strip("\"'").lower())


def _match_keys(obj: dict[str, Any], names: list[str]) -> dict[str, Any]:
    by_normal = {_normal(k): v for k, v in obj.items()}
    found: dict[str, Any] = {}
    for name in names:
        if name in obj:
            found[name] = obj[name]
        elif _normal(name) in by_normal:
            found[name] = by_normal[_normal(name)]
    return found


def _loose_fields(text: str, names: list[str]) -> dict[str, str]:
    """``"name": "value"`` (possibly cut off) or ``name: value`` lines, for replies that are not JSON."""
    found: dict[str, str] = {}
    for name in names:
        key = re.escape(name).replace(r"\_", "[_ ]").replace("_", "[_ ]")
        quoted = re.search(
            rf"[\"']{key}[\"']\s*:\s*\"((?:\\.|[^\"\\])*)(\"|$)", text, re.IGNORECASE | re.DOTALL
        )
        if quoted:
            try:
                found[name] = json.loads(f'"{quoted.group(1)}"', strict=False)
            except ValueError:
                found[name] = quoted.group(1)
            continue
        line = re.search(
            rf"^[ \t>*#-]*[\"']?{key}[\"']?\**[ \t]*[:=][ \t]*(.+)$", text, re.IGNORECASE | re.MULTILINE
        )
        if line:
            found[name] = line.group(1).strip().rstrip(",").strip().strip("\"'")
    return found
