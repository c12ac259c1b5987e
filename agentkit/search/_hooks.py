"""Where other components (reflection, the rule manual, the exploration monitor) plug into the search.

The search calls these at fixed points; the default does nothing, so the search runs on its own and an
ablation is just "no hooks".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from agentkit.archive import Archive
    from agentkit.records import EvalResult
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.search._config import SearchConfig
    from agentkit.tasks import Example, Task


@dataclass
class SearchContext:
    """What a hook may use: the run's archive, client, models, task and search examples."""

    config: SearchConfig
    archive: Archive
    client: LLMClient
    meta_model: ModelConfig
    agent_model: ModelConfig
    task: Task
    examples: list[Example]


@dataclass
class GenerationSettings:
    """Knobs a hook may turn before a generation starts (e.g. to explore more when diversity falls)."""

    meta_temperature: float
    """Sampling temperature of the meta agent for this generation."""
    inspirations: int
    """Agents shown besides the two parents."""
    screen_size: int
    """Examples of the screening subset."""
    notes: list[str] = field(default_factory=list)
    """Why the settings were changed (logged with the generation's start event)."""


@dataclass
class CandidateOutcome:
    """One evaluated candidate, as the hooks see it."""

    agent_id: str
    """The candidate's id in the archive."""
    generation: int
    """Generation that produced it."""
    parents: list[str]
    """Ids of its parents (empty for seeds)."""
    status: str
    """Archive status after evaluation (screened or evaluated)."""
    result: EvalResult
    """Per-example records and summary on the search split."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Further facts (e.g. which debug attempt this was)."""


@runtime_checkable
class SearchHooks(Protocol):
    """Extension points of the search loop. Every method may be a no-op."""

    async def before_generation(
        self, ctx: SearchContext, generation: int, settings: GenerationSettings
    ) -> GenerationSettings:
        """Called before a generation selects parents; may return changed settings."""
        ...

    def manual_text(self, ctx: SearchContext, generation: int) -> str:
        """The rule manual (and any other guidance) to show the meta agent; "" for none."""
        ...

    async def after_evaluation(self, ctx: SearchContext, candidate: CandidateOutcome) -> None:
        """Called once per candidate after its evaluation was stored (e.g. to reflect on failures)."""
        ...

    async def after_generation(self, ctx: SearchContext, generation: int) -> None:
        """Called after every candidate of a generation is stored (e.g. to update the manual)."""
        ...


class NoHooks:
    """The default hooks: change nothing, show no manual."""

    async def before_generation(
        self, ctx: SearchContext, generation: int, settings: GenerationSettings
    ) -> GenerationSettings:
        """Keep the settings as they are."""
        return settings

    def manual_text(self, ctx: SearchContext, generation: int) -> str:
        """No manual."""
        return ""

    async def after_evaluation(self, ctx: SearchContext, candidate: CandidateOutcome) -> None:
        """Do nothing."""

    async def after_generation(self, ctx: SearchContext, generation: int) -> None:
        """Do nothing."""
