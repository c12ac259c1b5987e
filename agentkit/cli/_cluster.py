"""``--executor local|ray``, ``--ray-address`` and ``--ray-actors``: where a command's examples run.

Ray is imported only when ``--executor ray`` is chosen (`agentkit.distributed`), never for ``--help``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.llm import Budget
    from agentkit.sandbox import SandboxConfig

EXECUTORS = ("local", "ray")

EXECUTOR = typer.Option(
    "local",
    "--executor",
    help="Where examples run: local (this machine) or ray (actors of a Ray cluster: --ray-address, "
    "else RAY_ADDRESS, else a Ray started here). Needs the ray extra: pip install 'agentkit[ray]'.",
)
RAY_ADDRESS = typer.Option(
    None,
    "--ray-address",
    help="The Ray cluster for --executor ray, e.g. ray://head:10001 or auto (default: RAY_ADDRESS, else "
    "a local Ray is started).",
)
RAY_ACTORS = typer.Option(
    None,
    "--ray-actors",
    min=1,
    help="Evaluation actors for --executor ray, each running --concurrency examples at once in its own "
    "sandbox (default: one per CPU of the cluster).",
)


@dataclass(frozen=True)
class ExecutorChoice:
    """The executor options of a command."""

    kind: str = "local"
    """``local`` or ``ray``."""
    address: str | None = None
    """Ray address (None: ``RAY_ADDRESS``, else a local Ray)."""
    actors: int | None = None
    """Evaluation actors (None: one per CPU of the cluster)."""

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ConfigError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")


@contextlib.asynccontextmanager
async def open_executor(
    choice: ExecutorChoice,
    *,
    per_actor: int,
    isolation: str,
    cache: bool,
    budget: Budget | None,
    sandbox: SandboxConfig | None = None,
) -> AsyncIterator[ExampleExecutor | None]:
    """The executor of `choice`, started (None for ``local``: the session runs examples itself)."""
    if choice.kind == "local":
        yield None
        return
    from agentkit.distributed import RayExecutor

    async with RayExecutor(
        address=choice.address,
        actors=choice.actors,
        per_actor=per_actor,
        sandbox=sandbox,
        isolation=isolation,
        cache=cache,
        budget=budget,
    ) as executor:
        yield executor
