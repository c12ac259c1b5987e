"""Cutting long text to a size, the one way every part of agentkit does it; showing control characters."""

from __future__ import annotations

import re
from typing import Literal

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters (all but tab and newline) shown as ``\\xNN`` escapes: names,
    thoughts and code a model wrote must not drive a terminal (clear the screen, retitle it, colour
    what follows) or put raw control bytes into a report.

    >>> printable("a\x1b[31mb")
    'a\\x1b[31mb'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clip(text: str, limit: int, *, keep: Literal["head", "tail"] = "head") -> str:
    """`text` cut to about `limit` characters, saying how much was cut.

    `keep="tail"` keeps the end instead (the end of a traceback is where the error is). A limit of 0 or
    less gives an empty string. Surrounding whitespace is removed first so that a cut never ends in a
    run of blank lines.

    >>> clip("abcdefgh", 3)
    'abc … [5 more characters cut]'
    """
    text = text.strip()
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    if keep == "tail":
        return f"[{cut} earlier characters cut] … " + text[-limit:].lstrip()
    return text[:limit].rstrip() + f" … [{cut} more characters cut]"
