"""The consoles commands print with: rich markup switched off.

Why: what the tables and messages show comes from models and users (agent names, rule texts, error
messages, file names). With markup on, rich reads ``[...]`` in them as style tags: ``agentkit[ray]``
loses its ``[ray]``, and a name such as ``Verify [/step]`` stops the command with a MarkupError.
Styling is given explicitly instead (``style=``, `rich.text.Text`).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 240
"""Columns of output that goes to a pipe or a file (rich would take 80 and cut ids and names short):
wide enough for every table agentkit prints; ``COLUMNS`` still decides when it is set."""


def plain_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A rich console that prints text as it is (no markup), on stdout or `stderr`."""
    from rich.console import Console

    if width is None and "COLUMNS" not in os.environ:
        stream = sys.stderr if stderr else sys.stdout
        isatty = getattr(stream, "isatty", None)
        if not (callable(isatty) and isatty()):
            width = PIPED_WIDTH
    return Console(stderr=stderr, width=width, markup=False)
