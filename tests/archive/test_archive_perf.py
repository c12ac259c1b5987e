"""A 200-agent archive with 100 results each stays quick to query. Timings are printed, not asserted."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from archive_helpers import CODE, make_results, make_summary

from agentkit.archive import Archive, normalised_code_hash

AGENTS, EXAMPLES = 200, 100
T = TypeVar("T")


def test_large_archive_queries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    timings: dict[str, float] = {}

    def timed(label: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        value = fn()
        timings[label] = time.perf_counter() - start
        return value

    def build() -> None:
        with Archive.create(tmp_path / "run", {"task": "perf"}) as archive:
            for i in range(AGENTS):
                with archive.transaction():
                    a = archive.add_agent(
                        f"Agent {i}", CODE.replace("by step.", f"by step ({i})."), generation=i // 10
                    )
                    archive.record_results(a.id, "search", make_results(EXAMPLES, correct=set(range(i % 50))))
                    archive.record_summary(
                        a.id, "search", make_summary(i / 400, i / 500, i / 300, n=EXAMPLES)
                    )
                    archive.set_status(a.id, "evaluated")

    timed("build (200 transactions)", build)
    archive = timed("open", lambda: Archive.open(tmp_path / "run"))
    with archive:
        agents = timed("agents()", archive.agents)
        matrix = timed("correctness_matrix()", archive.correctness_matrix)
        best = timed("best_agents(10)", lambda: archive.best_agents(10))
        results = timed("results(one agent)", lambda: archive.results("a0100", "search"))
        done = timed("completed_example_ids()", lambda: archive.completed_example_ids("a0100", "search"))
        found = timed("find_by_hash()", lambda: archive.find_by_hash(normalised_code_hash(agents[7].code)))
        one = timed("agent(name)", lambda: archive.agent("Agent 150"))
        files = timed("rewrite_agent_files()", archive.rewrite_agent_files)

    assert len(agents) == AGENTS and len(matrix) == AGENTS
    assert all(len(row) == EXAMPLES for row in matrix.values())
    assert [a.id for a in best][:2] == ["a0200", "a0199"]
    assert len(results) == EXAMPLES and len(done) == EXAMPLES
    assert [a.id for a in found] == [agents[7].id] and one.id == "a0151"
    assert len(files) == AGENTS
    with capsys.disabled():
        print(f"\narchive of {AGENTS} agents x {EXAMPLES} results:")
        for label, seconds in timings.items():
            print(f"  {label:<28} {seconds * 1000:8.1f} ms")
