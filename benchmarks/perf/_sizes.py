"""How big each scenario is: the issue's sizes, or tiny ones for the smoke test (``--quick``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Sizes of every scenario. The full sizes keep `make bench` under 10 minutes on 2 cores."""

    mode: str
    eval_examples: int = 500
    """Scenario 1: examples per agent."""
    eval_rounds: int = 3
    """Scenario 1: timed runs of each agent (alternating); the median is judged, the range shown."""
    concurrency: int = 64
    """Scenarios 1 and 2: examples (and model requests) in flight."""
    latency_s: float = 0.1
    """Scenarios 1, 2, 8: the server's mean latency."""
    jitter_s: float = 0.02
    """Scenarios 1, 2, 8: uniform jitter around the latency."""
    peer_examples: int = 500
    """Scenario 2: examples per framework and round."""
    peer_rounds: int = 2
    """Scenario 2: alternating rounds per framework (the best of each is reported)."""
    overhead_examples: int = 200
    """Scenario 3: examples run one at a time, in-process and in the sandbox."""
    scale_levels: tuple[int, ...] = (8, 32, 128, 256)
    """Scenario 8: concurrency levels."""
    scale_min_examples: int = 500
    """Scenario 8: examples per level (at least 4 per slot, so each slot is reused)."""
    search_generations: int = 20
    """Scenario 4: generations of the scripted search (one candidate each)."""
    search_size: int = 60
    """Scenarios 4 and 7: search split size."""
    screen_size: int = 10
    """Scenarios 4 and 7: screening subset of the cascade."""
    test_size: int = 40
    """Scenarios 4 and 7: sealed test split size."""
    memory_agents: int = 200
    """Scenarios 5 and 7: agents in the archive by the end of the large search."""
    memory_parallel: int = 10
    """Scenarios 5 and 7: candidates per generation of the large search."""
    memory_search_size: int = 30
    """Scenario 7: search split size of the large search (smaller, to stay in the time budget)."""
    memory_screen_size: int = 6
    """Scenario 7: screening subset of the large search."""
    e2e_examples: int = 250
    """Scenario 10: MGSM questions per run (the workload of issue 13)."""
    e2e_concurrency: int = 48
    """Scenario 10: examples (and model requests) in flight."""
    e2e_latency_s: float = 0.1
    """Scenario 10: the server's latency (no jitter)."""
    startup_runs: int = 5
    """Scenario 6: timed runs (the median is reported)."""
    selection_searches: int = 24
    """Scenario 9: seeded searches (each its own splits, archive order and sealed test)."""
    selection_agents: int = 20
    """Scenario 9: agent designs in the archive, each with a known true accuracy."""
    selection_search_size: int = 50
    """Scenario 9: search split size (what selection sees)."""
    selection_test_size: int = 120
    """Scenario 9: test split size (ADAS's test, and agentkit's sealed test, fresh per search)."""
    selection_pool: int = 240
    """Scenario 9: questions every design is evaluated on; searches draw their splits from it."""


FULL = Sizes(mode="full")

QUICK = Sizes(
    mode="quick",
    eval_examples=24,
    eval_rounds=3,
    concurrency=8,
    latency_s=0.02,
    jitter_s=0.005,
    peer_examples=16,
    peer_rounds=1,
    overhead_examples=10,
    scale_levels=(4, 8),
    scale_min_examples=16,
    search_generations=3,
    search_size=12,
    screen_size=4,
    test_size=6,
    memory_agents=12,
    memory_parallel=4,
    memory_search_size=8,
    memory_screen_size=3,
    e2e_examples=16,
    e2e_concurrency=8,
    e2e_latency_s=0.02,
    startup_runs=2,
    selection_searches=20,
    selection_agents=6,
    selection_search_size=10,
    selection_test_size=12,
    selection_pool=30,
)
