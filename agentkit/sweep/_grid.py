"""The grid of a sweep (``sweep.toml``) and the cells it expands to.

A grid names tasks, models, seeds, and what runs in each cell: agents (each scored on the task) and/or
search configurations (each a Meta Agent Search with those settings). Every combination is one cell,
and every cell is one normal run directory under the sweep directory.

```toml
tasks = ["gen/arithmetic", "gen/boolean"]
models = ["openai/gpt-4o-mini"]
agents = ["cot", "cot_sc"]          # seed names or .py paths
seeds = [0, 1]
limit = 50                          # examples per agent cell
# api_base = "http://127.0.0.1:8000/v1"

[[searches]]                        # optional: search cells, any SearchConfig keys
name = "short"
generations = 3
```

A cell's seed seeds its confidence intervals, and for generated tasks (``gen/*``) it is the task's
seed, so each seed draws other problems; a search cell's seed is the search's seed.
"""

from __future__ import annotations

import re
import tomllib
from itertools import product
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentkit.errors import ConfigError


class SearchCellConfig(BaseModel):
    """One search configuration of a grid: a name and `agentkit.search.SearchConfig` settings."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    """Names the configuration in cell names and the summary."""

    def settings(self) -> dict[str, Any]:
        """The SearchConfig settings (everything but the name)."""
        return dict(self.model_extra or {})


class SweepGrid(BaseModel):
    """What a sweep runs: tasks x models x (agents and search configurations) x seeds."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(min_length=1)
    """Task names as `agentkit.tasks.load_task` takes them."""
    models: list[str] = Field(default_factory=lambda: ["local"])
    """Agent models (litellm ``provider/name`` or ``local``)."""
    agents: list[str] = Field(default_factory=list)
    """Agents scored in agent cells: seed names or paths of agent files."""
    searches: list[SearchCellConfig] = Field(default_factory=list)
    """Search configurations run in search cells."""
    seeds: list[int] = Field(default_factory=lambda: [0])
    """Seeds: every cell is run once per seed."""
    limit: int = Field(default=50, ge=1)
    """Examples per agent cell (the task's first `limit`)."""
    api_base: str | None = None
    """OpenAI-compatible base URL for every model (a self-hosted server), None: the providers'."""
    concurrency: int = Field(default=8, ge=1)
    """Examples at once (per actor with the Ray executor)."""
    example_timeout_s: float = Field(default=120.0, gt=0)
    """Wall-time limit per example."""

    @model_validator(mode="after")
    def _something_to_run(self) -> SweepGrid:
        if not self.agents and not self.searches:
            raise ValueError("a grid needs agents, searches, or both")
        names = [s.name for s in self.searches]
        if len(set(names)) != len(names):
            raise ValueError(f"search configuration names must be distinct, got {names}")
        return self

    def cells(self) -> list[SweepCell]:
        """Every cell of the grid, in a fixed order (task, model, agent or search, seed)."""
        runs: list[tuple[Literal["agent", "search"], str]] = [("agent", a) for a in self.agents]
        runs += [("search", s.name) for s in self.searches]
        return [
            SweepCell(task=task, model=model, kind=kind, run=run, seed=seed)
            for task, model, (kind, run), seed in product(self.tasks, self.models, runs, self.seeds)
        ]

    def search(self, name: str) -> SearchCellConfig:
        """The search configuration called `name`."""
        return next(s for s in self.searches if s.name == name)


class SweepCell(BaseModel):
    """One cell: one task, one model, one agent or search configuration, one seed."""

    task: str
    """Task name."""
    model: str
    """Agent model."""
    kind: Literal["agent", "search"]
    """An agent scored on the task, or a search run on it."""
    run: str
    """The agent (name or path) or the search configuration's name."""
    seed: int
    """The cell's seed."""

    @property
    def name(self) -> str:
        """The cell's directory name (readable, unique in its grid)."""
        run = Path(self.run).stem if self.kind == "agent" and self.run.endswith(".py") else self.run
        parts = [self.task, self.model, f"{self.kind}-{run}", f"seed{self.seed}"]
        return "__".join(_slug(p) for p in parts)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def read_grid(path: str | Path) -> SweepGrid:
    """The grid in the TOML file `path`; ConfigError saying what is wrong."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the grid {source}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not TOML: {exc}") from exc
    try:
        return SweepGrid.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'grid'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from exc
