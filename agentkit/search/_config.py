"""Every setting of one Meta Agent Search run. Stored in the archive's run config, so a resumed run
continues with exactly the settings it started with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Selection = Literal["complementary", "best", "random"]
Isolation = Literal["auto", "bwrap", "process", "trusted"]


class SearchConfig(BaseModel):
    """Settings of a search run (task, models, split sizes, search shape, limits)."""

    model_config = ConfigDict(extra="forbid")

    task: str
    """Task name as `agentkit.tasks.load_task` takes it, e.g. ``gen/arithmetic`` or ``gsm8k``."""
    task_split: str | None = None
    """Which split of the task's source the examples come from (``train``, ``test``; None: the task's
    default)."""
    data_dir: str | None = None
    """Local data directory for tasks that read files (None: the task's default lookup)."""
    model: str = "local"
    """Model the agents call (litellm ``provider/name`` or ``local``)."""
    meta_model: str = "local"
    """Model of the meta agent that writes agents; may differ from `model`."""
    api_base: str | None = None
    """OpenAI-compatible base URL used for both models (e.g. a self-hosted server); None: provider default."""
    agent_temperature: float | None = None
    """Sampling temperature of agent calls that give none (None: the model's default)."""
    meta_temperature: float = 0.8
    """Sampling temperature of the meta agent's proposals."""
    meta_max_tokens: int = 2048
    """Completion token limit of one meta agent reply."""
    model_timeout_s: float = 120.0
    """Time limit of one model request attempt, in seconds."""
    search_size: int = Field(default=50, ge=1)
    """Examples in the search split (every candidate is scored on these)."""
    test_size: int = Field(default=50, ge=0)
    """Examples in the sealed test split (only the final top agents are scored on it)."""
    screen_size: int = Field(default=10, ge=0)
    """Examples of the screening subset; a candidate goes on to the full search split only when it can
    still beat the current best there (0 disables the cascade)."""
    seed: int = 0
    """Seed of the split, of parent selection and of the bootstrap intervals."""
    generations: int = Field(default=10, ge=0)
    """Generations of candidates to propose after the seeds."""
    parallel: int = Field(default=1, ge=1)
    """Candidates per generation; they are proposed and evaluated at the same time over one client."""
    self_review: int = Field(default=2, ge=0)
    """Self-review rounds after a proposal, each able to revise the agent."""
    debug_attempts: int = Field(default=2, ge=0)
    """Fixes asked for after an error or an all-wrong result; the last fix is evaluated too."""
    selection: Selection = "complementary"
    """Parent selection: tournament plus a complementary partner, the two best, or random (ablation)."""
    tournament_size: int = Field(default=3, ge=1)
    """Agents drawn for the tournament that picks the first parent."""
    inspirations: int = Field(default=3, ge=0)
    """Further agents shown besides the two parents (best remaining and behaviourally different ones)."""
    seeds: list[str] | None = None
    """Seed agents to start from, by name (file stem in ``archives/seed``); None: all of them."""
    prompt_max_tokens: int = Field(default=6000, ge=1000)
    """Upper bound on the meta prompt (estimated as characters / 4); agents shown are trimmed to fit."""
    prompt_code_chars: int = Field(default=2400, ge=200)
    """Characters of each shown agent's code kept in the meta prompt."""
    prompt_failures: int = Field(default=2, ge=0)
    """Failed examples shown per parent."""
    prompt_example_chars: int = Field(default=400, ge=50)
    """Characters kept of each shown question, answer or error."""
    prompt_manual_chars: int = Field(default=4000, ge=0)
    """Characters kept of the rule manual in the meta prompt."""
    top_k: int = Field(default=3, ge=0)
    """Agents with the best search-split lower bound that are scored once on the sealed test split."""
    isolation: Isolation = "auto"
    """Sandbox isolation for agent code (``trusted`` runs it in-process: reviewed code only)."""
    workers: int = Field(default=4, ge=1)
    """Sandbox worker processes."""
    concurrency: int = Field(default=8, ge=1)
    """Examples evaluated at the same time per agent."""
    wall_time_s: float = Field(default=120.0, gt=0)
    """Wall-time limit of one agent run on one example, in seconds."""
    trace_chars: int = Field(default=2000, ge=0)
    """Characters kept of each prompt and reply in per-example traces."""
    cache: bool = True
    """Use the LLM response cache (a resumed run then replays finished calls for free)."""
    cache_dir: str | None = None
    """Cache directory (None: ``$AGENTKIT_CACHE_DIR`` or ``~/.cache/agentkit``)."""
    budget_usd: float | None = Field(default=None, ge=0)
    """Hard limit on dollars spent by the whole run, resumes included (None: no limit)."""
    budget_calls: int | None = Field(default=None, ge=0)
    """Hard limit on model requests of the whole run, resumes included (None: no limit)."""
    budget_tokens: int | None = Field(default=None, ge=0)
    """Hard limit on prompt plus completion tokens of the whole run, resumes included (None: no limit)."""
    reflection: bool = True
    """Reflect on evaluated candidates (read by the reflection hooks; switch off for an ablation)."""
    manual: bool = True
    """Show the rule manual in the meta prompt (switch off for an ablation)."""
    progress: bool = True
    """Show live progress on a terminal (never shown when output is not a TTY)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Settings of optional components kept with the run (reflection, monitor) and ``task_options``
    passed to the task loader (e.g. ``{"difficulty": 1}`` for generated tasks)."""
