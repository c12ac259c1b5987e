"""What `eval`, `bench` and `bench --tasks` evaluate agents with: their shared options, in one value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.cli import _options as opt

if TYPE_CHECKING:
    from agentkit.cli._cluster import ExecutorChoice
    from agentkit.llm import Budget


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
    budget: Budget | None = None
    judge_model: str | None = None
    judge_samples: int = 3
    where: ExecutorChoice | None = None

    def model_overrides(self) -> dict[str, object]:
        """ModelConfig fields of these options. One --concurrency: examples at once, and as many
        requests in flight to the model (and judge), unless --max-inflight says otherwise."""
        return opt.model_overrides(self.api_base, inflight=opt.inflight(self.concurrency, self.max_inflight))
