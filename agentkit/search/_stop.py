"""Telling a cancellation that asks the search to stop apart from any other.

A search task is cancelled for two different reasons. Ctrl-C under `run_sync` (the command line) asks
the search to stop: the loop records the run as interrupted and returns that outcome, which the
command prints. Anything else (a caller's timeout, a task group shutting down) is the caller's own
cancellation: the loop records the run as interrupted just the same, then lets CancelledError go on,
so `asyncio.timeout` raises TimeoutError and a task group sees its child cancelled, as asyncio code
expects.

The request is known by the task it was made to: a search awaited directly in that task (as `run_sync`
runs it) returns the outcome; one running in a task of its own (a gather, a task group) under it sees
a plain cancellation and raises.
"""

from __future__ import annotations

import asyncio
import weakref

_stopping: weakref.WeakSet[asyncio.Task[object]] = weakref.WeakSet()


def request_stop(task: asyncio.Task[object]) -> None:
    """Cancel `task` as a request to stop: a search running in it returns an "interrupted" outcome
    instead of raising CancelledError."""
    _stopping.add(task)
    task.cancel()


def stop_requested() -> bool:
    """Whether the running task was cancelled by `request_stop`."""
    task = asyncio.current_task()
    return task is not None and task in _stopping
