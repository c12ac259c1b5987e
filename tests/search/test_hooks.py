"""The search's hook dispatcher applies the one failure policy: a failing hook is logged as an event and
never stops the search; a budget stop (and anything that is not an Exception) passes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.archive import Archive
from agentkit.errors import BudgetExceeded
from agentkit.evaluate._summary import summarize
from agentkit.records import EvalResult, ExampleResult
from agentkit.search import (
    CandidateOutcome,
    GenerationSettings,
    HookDispatcher,
    NoHooks,
    SearchConfig,
    SearchContext,
)


class Failing(NoHooks):
    """Every hook raises `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def before_generation(
        self, ctx: SearchContext, generation: int, settings: GenerationSettings
    ) -> GenerationSettings:
        raise self.error

    def manual_text(self, ctx: SearchContext, generation: int) -> str:
        raise self.error

    async def after_evaluation(self, ctx: SearchContext, candidate: CandidateOutcome) -> None:
        raise self.error

    async def after_generation(self, ctx: SearchContext, generation: int) -> None:
        raise self.error


def _ctx(archive: Archive) -> SearchContext:
    none: Any = None
    return SearchContext(
        config=SearchConfig(task="gen/arithmetic"),
        archive=archive,
        client=none,
        meta_model=none,
        agent_model=none,
        task=none,
        examples=[],
    )


def _candidate() -> CandidateOutcome:
    results = [ExampleResult(example_id="e1", answer="1", score=1.0)]
    result = EvalResult(agent="A", task="t", results=results, summary=summarize(results))
    return CandidateOutcome(agent_id="a0001", generation=1, parents=[], status="evaluated", result=result)


async def test_a_failing_hook_is_logged_and_changes_nothing(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "run", {}) as archive:
        hooks = HookDispatcher(Failing(ValueError("broken hook")), _ctx(archive))
        settings = GenerationSettings(meta_temperature=0.8, inspirations=3, screen_size=10)
        assert await hooks.before_generation(2, settings) is settings
        assert hooks.manual_text(2) == ""
        await hooks.after_evaluation(_candidate())
        await hooks.after_generation(2)
        errors = archive.events("hook_error")
        assert [e.payload["where"] for e in errors] == [
            "before_generation",
            "manual_text",
            "after_evaluation",
            "after_generation",
        ]
        assert all(e.payload["hooks"] == "Failing" for e in errors)
        assert all("ValueError: broken hook" in e.payload["error"] for e in errors)
        assert "Traceback" in errors[0].payload["traceback"]
        assert {e.generation for e in errors} == {1, 2}


@pytest.mark.parametrize("error", [BudgetExceeded("no more calls"), KeyboardInterrupt()])
async def test_a_budget_stop_or_an_interrupt_passes_through(tmp_path: Path, error: BaseException) -> None:
    with Archive.create(tmp_path / "run", {}) as archive:
        hooks = HookDispatcher(Failing(error), _ctx(archive))
        settings = GenerationSettings(meta_temperature=0.8, inspirations=3, screen_size=10)
        with pytest.raises(type(error)):
            await hooks.before_generation(1, settings)
        with pytest.raises(type(error)):
            await hooks.after_evaluation(_candidate())
        with pytest.raises(type(error)):
            await hooks.after_generation(1)
        with pytest.raises(type(error)):
            hooks.manual_text(1)
        assert archive.events("hook_error") == []


def test_search_never_imports_reflect() -> None:
    import ast

    import agentkit.search

    root = Path(agentkit.search.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any(n.startswith("agentkit.reflect") for n in names), path
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value != "agentkit.reflect", path  # no import by name either
