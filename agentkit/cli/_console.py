"""The consoles commands print with: rich markup switched off.

Why: what the tables and messages show comes from models and users (agent names, rule texts, error
messages, file names). With markup on, rich reads ``[...]`` in them as style tags: ``agentkit[ray]``
loses its ``[ray]``, and a name such as ``Verify [/step]`` stops the command with a MarkupError.
Styling is given explicitly instead (``style=``, `rich.text.Text`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def plain_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A rich console that prints text as it is (no markup), on stdout or `stderr`."""
    from rich.console import Console

    return Console(stderr=stderr, width=width, markup=False)
