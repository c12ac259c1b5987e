"""The ``agentkit`` command line. Each command group lives in its own module and registers itself on
the shared typer app when imported here."""

from __future__ import annotations

import sys

from agentkit.cli import (  # noqa: F401  (registers commands)
    _bench,
    _doctor,
    _eval,
    _judge,
    _local,
    _manual,
    _results,
    _search,
    _sweep,
    _tasks,
)
from agentkit.cli._app import app
from agentkit.errors import AgentkitError


def main() -> None:
    """Entry point of the ``agentkit`` script: runs the app and turns agentkit errors into one clear line."""
    try:
        app()
    except AgentkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
