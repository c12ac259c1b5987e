"""What `eval` and `bench` say, and how they exit, when examples were left unscored (the provider
failed them, or the budget refused their calls), and what they say while a model is paused (its
circuit breaker holds the calls: `show_pauses`).

An unscored example (`ExampleResult.unscored`) is not a 0, so the scores printed leave it out; but the
command did not do what was asked, so it exits with `UNSCORED_EXIT` and says how to finish the job.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.llm import LLMClient
    from agentkit.records import EvalResult

UNSCORED_EXIT = 3
"""Exit status of `eval` and `bench` when some example is left unscored (2 is a configuration error)."""


def all_unscored(results: Sequence[EvalResult]) -> bool:
    """True when there were examples and the provider failed every one (no table is worth printing)."""
    return any(r.results for r in results) and all(x.unscored for r in results for x in r.results)


def exit_if_unscored(results: Sequence[EvalResult], *, cached: bool, shown: bool = True) -> None:
    """When some example of `results` is unscored, say how many, the first reason and how to go on (on
    stderr), then exit with `UNSCORED_EXIT`; otherwise return. `shown`: scores were printed above."""
    unscored = [(r.agent, x) for r in results for x in r.results if x.unscored]
    if not unscored:
        return
    total = sum(len(r.results) for r in results)
    refused = [(a, x) for a, x in unscored if x.error is not None and x.error.kind == "budget"]
    if refused:
        agent, first = refused[0]
        assert first.error is not None
        others = len(unscored) - len(refused)
        exit_unscored(
            len(refused),
            total,
            f"{agent}, {first.example_id}: {first.error.message}",
            cached=cached,
            shown=shown,
            why="the budget refused their model calls"
            + (f" (and {others} more the model provider failed)" if others else ""),
            again="Give a larger budget (--budget-calls, --budget-tokens, --budget-usd) and run the same "
            f"command again{': answers already received come from the cache' if cached else ''}.",
        )
    agent, first = unscored[0]
    reason = first.error.message if first.error is not None else "the provider failed"
    exit_unscored(
        len(unscored),
        total,
        f"{agent}, {first.example_id}: {reason}",
        cached=cached,
        shown=shown,
    )


def exit_unscored(
    count: int,
    total: int,
    first: str,
    *,
    cached: bool,
    again: str | None = None,
    shown: bool = True,
    why: str = "the model provider failed them",
) -> None:
    """Say that `count` of `total` examples are unscored (`first`: the first one; `why`) and how to go
    on (`again`, by default: run the same command again), then exit with `UNSCORED_EXIT`. `shown`:
    scores were printed above (else there are none to show)."""
    if again is None:
        again = (
            "Run the same command again when the provider answers: answers already received come from "
            "the cache."
            if cached
            else "Run the same command again when the provider answers (without --no-cache, answers "
            "already received would come from the cache)."
        )
    print(
        f"error: {count} of {total} example(s) left unscored: {why} "
        f"(first: {first}). They are not counted as wrong; "
        f"{'the scores above leave them out' if shown else 'with none scored there is no score to show'}. "
        f"{again}",
        file=sys.stderr,
    )
    raise typer.Exit(UNSCORED_EXIT)


def show_pauses(client: LLMClient, progress: Any, executor: ExampleExecutor | None = None) -> None:
    """Say on stderr (above the live progress bar when one is shown) when a model of `client` stops
    answering and its calls pause, and when they continue."""
    from agentkit.llm._breaker import ModelPause

    def said(pause: ModelPause) -> None:
        if getattr(progress, "disable", True):
            print(pause.describe(), file=sys.stderr, flush=True)
        else:
            progress.console.print(pause.describe(), highlight=False, markup=False)

    client.add_pause_listener(said)
    if executor is not None:  # the cluster's actors: their clients' pauses, polled by the driver
        executor.add_pause_listener(said)
