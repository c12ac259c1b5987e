"""The ``agentkit`` command line. Each command group lives in its own module and registers itself on
the shared typer app when imported here."""

from __future__ import annotations

import sys

from agentkit.cli import _doctor, _eval  # noqa: F401  (registers commands)
from agentkit.cli import _local  # noqa: F401  (registers commands)
from agentkit.cli import _tasks  # noqa: F401  (registers commands)
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
