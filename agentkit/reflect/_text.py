"""Small text helpers of the reflection prompts: filling templates and clipping long values."""

from __future__ import annotations

import json
import re
from typing import Any


def json_value(text: str) -> Any:
    """A field value the model may have given as JSON text (a list or object) or as plain text: the
    decoded value when it decodes, else the text itself."""
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped, strict=False)
        except ValueError:
            pass
    return stripped


def id_list(value: Any) -> list[str]:
    """Ids the model listed, as a JSON list, a comma- or space-separated string, or a single id."""
    if isinstance(value, str):
        value = json_value(value)
    if isinstance(value, list):
        items = [str(v).strip() for v in value if isinstance(v, str | int)]
    elif isinstance(value, str):
        items = [p for p in re.split(r"[\s,;]+", value) if p]
    else:
        return []
    seen: list[str] = []
    for item in items:
        item = item.strip("\"'`[]()")
        if item and item not in seen:
            seen.append(item)
    return seen
