"""Where the prompt templates and seed agents live.

In a wheel they are bundled under `agentkit/_bundled/`; in a source checkout (editable install) they are
the top-level `prompts/` and `archives/seed/` folders, which stay the single source of truth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[-1]


@cache
def prompts_dir() -> Path:
    """The folder holding every prompt template."""
    return _first_existing(_PACKAGE / "_bundled" / "prompts", _PACKAGE.parent / "prompts")


@cache
def seed_dir() -> Path:
    """The folder holding the hand-designed seed agents."""
    return _first_existing(_PACKAGE / "_bundled" / "seed", _PACKAGE.parent / "archives" / "seed")


def read_prompt(name: str) -> str:
    """The text of prompt template `name` (a file name inside `prompts/`, e.g. ``"runtime_api.md"``)."""
    return (prompts_dir() / name).read_text(encoding="utf-8")


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill ``{name}`` placeholders of `template`; braces that name no value are left alone (code shown
    in prompts keeps its braces)."""
    return _PLACEHOLDER.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )
