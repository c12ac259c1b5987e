"""TrustedRunner: same interface as the Sandbox, runs in this process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sandbox_helpers import ONE_CALL_AGENT, field_values, instant_llm, runtime_dir

from agentkit.errors import BudgetExceeded
from agentkit.sandbox import SandboxConfig, TrustedRunner

pytestmark = pytest.mark.sandbox


def _run_agent() -> Callable[..., str] | None:
    if runtime_dir() is None:
        return None  # the real agentkit.runtime
    import standin_runtime

    return standin_runtime.run_agent


async def test_trusted_runner_bridges_model_calls_to_the_loop() -> None:
    runner = TrustedRunner(run_agent=_run_agent())
    loop_thread: list[int] = []

    async def llm(request: dict[str, Any]) -> dict[str, Any]:
        loop_thread.append(threading.get_ident())
        await asyncio.sleep(0)
        return field_values(request, answer="7")

    async with runner:
        runs = await asyncio.gather(
            *(runner.run(ONE_CALL_AGENT, f"q{i}", answer_format="", llm=llm) for i in range(4))
        )
    assert [r.answer for r in runs] == [f"7|q{i}" for i in range(4)]
    assert set(loop_thread) == {threading.get_ident()}  # the handler ran on the event loop
    assert runner.isolation_level == "trusted"


async def test_trusted_runner_reports_failures() -> None:
    # A wall limit no load can reach for the quick failures; a short one only for the agent that
    # sleeps far past it, so that a slow machine cannot turn either outcome around.
    runner = TrustedRunner(SandboxConfig(wall_time_s=60.0), run_agent=_run_agent())
    hasty = TrustedRunner(SandboxConfig(wall_time_s=0.5), run_agent=_run_agent())
    boom = "def forward(self, taskInfo):\n    raise ValueError('boom')\n"
    bad = "def forward(self taskInfo):\n    pass\n"
    slow = "import time\n\ndef forward(self, taskInfo):\n    time.sleep(10)\n    return 'late'\n"

    async def refusing(request: dict[str, Any]) -> dict[str, Any]:
        return {"error": "provider said no", "error_kind": "llm"}

    async def over_budget(request: dict[str, Any]) -> dict[str, Any]:
        raise BudgetExceeded("spent")

    failed = await runner.run(boom, "q", answer_format="", llm=instant_llm)
    assert failed.error is not None and failed.error.kind == "exception" and "boom" in failed.error.message
    assert "ValueError" in failed.error.traceback
    syntax = await runner.run(bad, "q", answer_format="", llm=instant_llm)
    assert syntax.error is not None and syntax.error.kind == "syntax"
    refused = await runner.run(ONE_CALL_AGENT, "q", answer_format="", llm=refusing)
    assert refused.error is not None and refused.error.kind == "llm"
    budget = await runner.run(ONE_CALL_AGENT, "q", answer_format="", llm=over_budget)
    assert budget.error is not None and budget.error.kind == "budget", budget.error
    assert "BudgetExceeded: spent" in budget.error.message
    late = await hasty.run(slow, "q", answer_format="", llm=instant_llm)
    assert late.error is not None and late.error.kind == "timeout"


async def test_trusted_runner_does_not_starve_the_default_executor() -> None:
    # The LLM plumbing (DNS lookups in aiohttp, for one) uses the loop's default executor; agent
    # threads blocked on model calls must not occupy it, or everything deadlocks.
    runner = TrustedRunner(SandboxConfig(workers=32), run_agent=_run_agent())

    async def llm(request: dict[str, Any]) -> dict[str, Any]:
        await asyncio.get_running_loop().run_in_executor(None, threading.Event().wait, 0.01)
        return field_values(request, answer="1")

    async with asyncio.timeout(30):
        runs = await asyncio.gather(
            *(runner.run(ONE_CALL_AGENT, f"q{i}", answer_format="", llm=llm) for i in range(40))
        )
    assert all(r.answer == f"1|q{i}" for i, r in enumerate(runs))
