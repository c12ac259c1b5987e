"""`Info`, the unit of data that ADAS-style agents pass between LLM calls."""

from __future__ import annotations

from typing import Any, NamedTuple


class Info(NamedTuple):
    """One named piece of content: the task, or one output field of one LLM call.

    The task reaches `forward` as ``Info('task', 'User', question, -1)``; `LLMAgentBase` returns one
    `Info` per output field, with `author` naming the agent that wrote it.
    """

    name: str
    """What this is: ``'task'`` or the output field's name (``'thinking'``, ``'answer'``, ...)."""
    author: str
    """Who wrote it: ``'User'`` for the task, else the agent, e.g. ``'Critic Agent #2'``."""
    content: Any
    """The text itself (a string for everything the runtime produces)."""
    iteration_idx: int = -1
    """The round this was produced in, or -1 when rounds do not apply."""
