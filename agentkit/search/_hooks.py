"""Where other components (reflection, the rule manual, the exploration monitor) plug into the search.

The search owns this protocol (`SearchHooks`); components implement it (`agentkit.reflect.ReflectHooks`)
and the search never imports them. The search calls its hooks only through `HookDispatcher`, which
applies the one failure policy: a hook that fails is logged as a ``hook_error`` event and never stops
the search; `BudgetExceeded`, `ProviderAuthError` (and cancellation) pass through, so the search stops
cleanly. Hooks need no error handling of their own for that. The default, `NoHooks`, does nothing, so
the search runs on its own and an ablation is just "no hooks".
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from agentkit.errors import BudgetExceeded, ProviderAuthError
from agentkit.records import clip

if TYPE_CHECKING:
    from agentkit.archive import Archive
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.records import EvalResult
    from agentkit.search._config import SearchConfig
    from agentkit.tasks import Example, Task

T = TypeVar("T")

HOOK_ERROR = "hook_error"
"""Event logged when a hook fails (payload: hooks, where, error, traceback)."""


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


class HookDispatcher:
    """The search's one caller of its hooks, with their failure policy applied in one place.

    Each method calls the same hook of `hooks` with `ctx`. When a hook raises, the error is logged as
    a ``hook_error`` event (which hooks, where, the error and its traceback) and the search goes on as
    if the hook had changed nothing (settings unchanged, no manual). `BudgetExceeded` passes through
    (the search turns it into a clean stop), `ProviderAuthError` too (no model call can succeed until
    the key is fixed), and so does everything that is not an `Exception`
    (cancellation, Ctrl-C)."""

    def __init__(self, hooks: SearchHooks, ctx: SearchContext) -> None:
        self.hooks = hooks
        self.ctx = ctx

    async def before_generation(self, generation: int, settings: GenerationSettings) -> GenerationSettings:
        """The settings of `generation` after the hooks' changes."""
        return await self._guarded(
            "before_generation",
            generation,
            settings,
            lambda: self.hooks.before_generation(self.ctx, generation, settings),
        )

    def manual_text(self, generation: int) -> str:
        """The guidance the hooks show the meta agent in `generation` ("" when a hook fails)."""
        try:
            return str(self.hooks.manual_text(self.ctx, generation))
        except (BudgetExceeded, ProviderAuthError):
            raise
        except Exception as exc:
            self.failed("manual_text", generation, exc)
            return ""

    async def after_evaluation(self, candidate: CandidateOutcome) -> None:
        """Tell the hooks of one stored evaluation."""
        await self._guarded(
            "after_evaluation",
            candidate.generation,
            None,
            lambda: self.hooks.after_evaluation(self.ctx, candidate),
        )

    async def after_generation(self, generation: int) -> None:
        """Tell the hooks that every candidate of `generation` is stored."""
        await self._guarded(
            "after_generation", generation, None, lambda: self.hooks.after_generation(self.ctx, generation)
        )

    async def _guarded(self, where: str, generation: int, fallback: T, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (BudgetExceeded, ProviderAuthError):
            raise
        except Exception as exc:
            self.failed(where, generation, exc)
            return fallback

    def failed(self, where: str, generation: int | None, exc: Exception) -> None:
        """Log a hook failure (best effort: the log itself must not stop the search either)."""
        with contextlib.suppress(Exception):
            self.ctx.archive.log_event(
                HOOK_ERROR,
                {
                    "hooks": type(self.hooks).__name__,
                    "where": where,
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": clip("".join(traceback.format_exception(exc)), 4000),
                },
                generation=generation,
            )
