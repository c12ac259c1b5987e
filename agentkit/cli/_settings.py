"""What `eval`, `bench` and `bench --tasks` evaluate agents with: their shared options, in one value."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.cli import _options as opt
from agentkit.cli._cluster import ExecutorChoice

if TYPE_CHECKING:
    from agentkit.evaluate import Session
    from agentkit.llm import Budget, ModelConfig
    from agentkit.sandbox import Sandbox


@dataclass(frozen=True)
class EvalSettings:
    """The settings an evaluation command runs with (its command-line options)."""

    model: str | None
    api_base: str | None
    data_dir: Path | None
    task_opts: dict[str, Any]
    limit: int
    concurrency: int
    isolation: str
    no_cache: bool
    seed: int
    timeout: float
    show_progress: bool
    max_inflight: int | None = None
    agent_temperature: float | None = None
    agent_max_tokens: int | None = None
    budget: Budget | None = None
    judge_model: str | None = None
    judge_samples: int = 3
    where: ExecutorChoice = field(default_factory=ExecutorChoice)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> EvalSettings:
        """The settings from a command's parameters, by their names: `eval` and `bench` declare the
        same options, and each makes its settings with ``EvalSettings.from_options(locals())`` (before
        it rebinds any of them). Other names in `options` are not read."""
        o = options
        return cls(
            model=o["model"],
            api_base=o["api_base"],
            data_dir=o["data_dir"],
            task_opts=opt.parse_task_opts(o["task_opt"]),
            limit=o["limit"],
            concurrency=o["concurrency"],
            max_inflight=o["max_inflight"],
            agent_temperature=o.get("agent_temperature"),
            agent_max_tokens=o.get("agent_max_tokens"),
            isolation=o["isolation"],
            no_cache=o["no_cache"],
            seed=o["seed"],
            timeout=o["timeout"],
            show_progress=not o["as_json"] and sys.stderr.isatty(),
            budget=opt.budget(o["budget_usd"], o["budget_calls"], o["budget_tokens"]),
            judge_model=o["judge_model"],
            judge_samples=o["judge_samples"],
            where=ExecutorChoice(o["executor"], o["ray_address"], o["ray_actors"]),
        )

    def agent_overrides(self) -> dict[str, object]:
        """ModelConfig fields of the agents' model alone (not the judge's): its temperature and reply
        length, where given."""
        out: dict[str, object] = {}
        if self.agent_temperature is not None:
            out["temperature"] = self.agent_temperature
        if self.agent_max_tokens is not None:
            out["max_tokens"] = self.agent_max_tokens
        return out

    def model_overrides(self) -> dict[str, object]:
        """ModelConfig fields of these options. One --concurrency: examples at once, and as many
        requests in flight to the model (and judge), unless --max-inflight says otherwise."""
        return opt.model_overrides(self.api_base, inflight=opt.inflight(self.concurrency, self.max_inflight))


@contextlib.asynccontextmanager
async def open_session(
    s: EvalSettings, model: ModelConfig, *, runner: Sandbox | None = None
) -> AsyncIterator[Session]:
    """The session an evaluation command runs in: on this machine (in `runner` when one was started
    early), or with its examples on the Ray cluster the settings name."""
    from agentkit.cli._cluster import open_executor
    from agentkit.evaluate import Session
    from agentkit.evaluate._session import check_isolation
    from agentkit.sandbox import SandboxConfig

    isolation = check_isolation(s.isolation)
    async with (
        open_executor(
            s.where,
            per_actor=s.concurrency,
            isolation=isolation,
            cache=not s.no_cache,
            budget=s.budget,
            sandbox=SandboxConfig(max_examples=s.concurrency, wall_time_s=s.timeout),
        ) as executor,
        Session.open(
            model,
            isolation=isolation,
            workers=s.concurrency,
            cache=not s.no_cache,
            wall_time_s=s.timeout,
            budget=s.budget,
            executor=executor,
            runner=runner,
        ) as session,
    ):
        yield session
