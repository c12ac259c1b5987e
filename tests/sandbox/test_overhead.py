"""Per-example overhead of the sandbox with an instant model (printed; only a loose sanity bound)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sandbox_helpers import ONE_CALL_AGENT, instant_llm, runtime_dir

from agentkit.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.sandbox


async def test_overhead_per_example_after_warm_up(isolation: str) -> None:
    config = SandboxConfig(isolation=isolation, workers=2)  # type: ignore[arg-type]
    started = time.perf_counter()
    async with Sandbox(config, runtime_dir=runtime_dir()) as sandbox:
        cold_start = time.perf_counter() - started
        warm = await asyncio.gather(
            *(sandbox.run(ONE_CALL_AGENT, "w", answer_format="", llm=instant_llm) for _ in range(4))
        )
        assert all(r.answer == "42|w" for r in warm)
        n = 200
        t0 = time.perf_counter()
        runs = await asyncio.gather(
            *(sandbox.run(ONE_CALL_AGENT, f"q{i}", answer_format="", llm=instant_llm) for i in range(n))
        )
        elapsed = time.perf_counter() - t0
        level = sandbox.isolation_level
    assert all(r.error is None for r in runs)
    per_example = elapsed / n
    mean_latency = sum(r.duration_s for r in runs) / n
    print(
        f"\n[sandbox overhead] {level}: cold start {cold_start * 1000:.0f} ms; {n} one-call examples on "
        f"{config.workers} workers in {elapsed:.2f} s = {per_example * 1000:.2f} ms/example "
        f"(mean latency per example {mean_latency * 1000:.2f} ms)"
    )
    assert per_example < 0.1
