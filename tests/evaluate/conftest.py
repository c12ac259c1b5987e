from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.testing import FakeOpenAIServer

_EXPR = re.compile(r"Compute the value of this expression: ([-\d\s()+*]+)")


def solve_arithmetic(request: dict[str, Any]) -> str | None:
    """A fake model that answers the gen/arithmetic questions correctly, in the requested JSON fields."""
    text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    match = _EXPR.search(text)
    if match is None:
        return None
    value = eval(match.group(1).strip(), {"__builtins__": {}})  # our own generated digits and operators
    if "WRONG" in text:
        value += 1
    return json.dumps({"thinking": "worked it out", "answer": str(value)})


@pytest.fixture
def arithmetic_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(solve_arithmetic) as server:
        yield server


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
