"""Scenario 2: the same one-call workload through agentkit (agent in the sandbox) and through DSPy
(`dspy.Evaluate` + `dspy.ChainOfThought`, in-process threads), on the same server at the same concurrency.

The two run alternately against one server process; each framework's best round is compared.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from benchmarks.perf import _world
from benchmarks.perf._evaluation import open_session, timed_eval, warm_up
from benchmarks.perf._results import Figure, not_measured, verdict
from benchmarks.perf._server import ServerProcess, repo_root
from benchmarks.perf._sizes import Sizes

TITLE = "agentkit time / DSPy time (same workload)"
TARGET = "<= 1.0 (no slower)"


def _dspy_round(base_url: str, examples: list[list[str]], threads: int) -> dict[str, float]:
    spec = {"base_url": base_url, "examples": examples, "threads": threads, "rounds": 1}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf._dspy_child", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=repo_root(),
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the DSPy run failed: {done.stderr.strip().splitlines()[-1:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "seconds": out["rounds"][0]["seconds"],
        "score": out["rounds"][0]["score"],
        "version": out["version"],
    }


async def scenario_2(sizes: Sizes) -> list[Figure]:
    """agentkit's time over DSPy's on the one-call workload."""
    if importlib.util.find_spec("dspy") is None:
        return [
            not_measured(
                "2",
                TITLE,
                TARGET,
                "dspy is not installed (it is the 'bench' extra: pip install -e '.[bench]')",
            )
        ]
    n, conc = sizes.peer_examples, sizes.concurrency
    task = _world.task(n, seed=2)
    pairs = [[e.input, e.target] for e in task.examples]
    ours: list[float] = []
    theirs: list[float] = []
    scores: dict[str, float] = {}
    version = "?"
    with ServerProcess("dspy", latency_s=sizes.latency_s, jitter_s=sizes.jitter_s) as server:
        async with open_session(server, conc) as session:
            await warm_up(session, conc)
            level = session.isolation_level
            for _ in range(sizes.peer_rounds):
                t = await timed_eval(session, _world.one_call_agent(), task.examples, task, concurrency=conc)
                ours.append(t.seconds)
                scores["agentkit_accuracy"] = t.accuracy
                d = _dspy_round(server.base_url, pairs, conc)
                theirs.append(d["seconds"])
                scores["dspy_accuracy"] = d["score"] / 100
                version = str(d["version"])
    ratio = min(ours) / min(theirs)
    limit_s = n * sizes.latency_s / conc
    return [
        Figure(
            scenario="2",
            title=TITLE,
            value=round(ratio, 3),
            shown=f"{ratio:.2f} ({min(ours):.2f} s vs {min(theirs):.2f} s; limit {limit_s:.2f} s)",
            target=TARGET,
            status=verdict(ratio <= 1.0),
            notes=(
                f"{n} examples, concurrency {conc}, {sizes.latency_s * 1000:.0f}±{sizes.jitter_s * 1000:.0f} ms; "
                f"agentkit in sandbox ({level}), "
                f"DSPy {version} ChainOfThought in-process threads; best of {sizes.peer_rounds} alternating rounds"
            ),
            details={
                "agentkit_s": ours,
                "dspy_s": theirs,
                "limit_s": limit_s,
                "dspy_version": version,
                **scores,
            },
        )
    ]
