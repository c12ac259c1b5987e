"""Cutting long text to a size, the one way every part of agentkit does it."""

from __future__ import annotations

from typing import Literal


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
