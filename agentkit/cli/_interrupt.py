"""Ctrl-C in a command that evaluates: one line saying what was kept and how to go on, exit 130.

Typer turns a KeyboardInterrupt into exit status 130 and prints nothing; a user who stopped a long
evaluation should hear that the answers received are not lost and what to run next.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer

T = TypeVar("T")

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""


def run_or_interrupted(coro: Coroutine[Any, Any, T], *, again: str) -> T:
    """`asyncio.run(coro)`; on Ctrl-C print "interrupted; `again`" and exit with `EXIT_INTERRUPTED`."""
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        print(f"interrupted; {again}", file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def cached_again(cached: bool) -> str:
    """What running an evaluation again gives back after a stop."""
    if cached:
        return "run the same command again: the answers already received come from the cache"
    return "nothing was kept (--no-cache): run the same command again to start over"
