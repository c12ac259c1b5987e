"""Scenario 11: the Ray executor's overhead against the local one, on this machine.

The same one-call agent on the same examples, against the fake server process, with the same number
of examples in flight: once in a local `Session` (one sandbox), once spread over two evaluation actors
of a local Ray (`agentkit.distributed.RayExecutor`, each actor half the slots and its own sandbox).
Both are warmed up first (sandbox workers started, connections open), so the ratio is the steady-state
cost of the cluster path: an actor call per example, results pickled back, the cluster budget's
reservations (none here: no budget) and no cache. Ray's own start-up is reported apart.
On one machine the cluster cannot be faster: it adds work on the same two cores. The ratio says what
the distribution costs; the README says when spreading over more machines pays for it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchmarks.perf import _world
from benchmarks.perf._evaluation import model_for, open_session, timed_eval, warm_up
from benchmarks.perf._results import Figure
from benchmarks.perf._server import ServerProcess
from benchmarks.perf._sizes import Sizes

if TYPE_CHECKING:
    from agentkit.evaluate import EvalResult, Session
    from agentkit.tasks import Example, Task

TITLE = "Ray executor wall time / local (same work)"
ACTORS = 2


async def scenario_11(sizes: Sizes) -> list[Figure]:
    """Local vs Ray on the same examples; the figure is the ratio of their wall times."""
    from agentkit.distributed import RayExecutor
    from agentkit.evaluate import Session
    from agentkit.sandbox import SandboxConfig

    n = min(sizes.eval_examples, 300)
    conc = 16 if sizes.mode == "full" else 4
    task = _world.task(n)
    code = _world.one_call_agent()
    with ServerProcess("simulated", latency_s=sizes.latency_s, jitter_s=sizes.jitter_s) as server:
        async with open_session(server, conc) as session:
            await warm_up(session, conc)
            local = await timed_eval(session, code, task.examples, task, concurrency=conc)
        started = time.perf_counter()
        per_actor = conc // ACTORS
        async with (
            RayExecutor(
                actors=ACTORS,
                per_actor=per_actor,
                sandbox=SandboxConfig(max_examples=per_actor),
                cache=False,
                address="local",  # a Ray of its own, even where RAY_ADDRESS names a cluster
            ) as ex,
            Session.open(model_for(server, conc), cache=False, executor=ex) as remote,
        ):
            start_s = time.perf_counter() - started
            warm = _world.task(conc * 2, seed=99)
            await _on(remote, code, warm.examples, warm)
            began = time.perf_counter()
            result = await _on(remote, code, task.examples, task)
            ray_s = time.perf_counter() - began
    ratio = ray_s / local.seconds
    extra_ms = 1000 * (ray_s - local.seconds) / n
    return [
        Figure(
            scenario="11",
            title=TITLE,
            value=round(ratio, 3),
            shown=f"{ratio:.2f}x ({ray_s:.2f} s vs {local.seconds:.2f} s; {extra_ms:+.1f} ms per example)",
            target="info (one machine: overhead only)",
            status="info",
            notes=(
                f"{n} one-call examples, {conc} in flight ({ACTORS} actors x {per_actor}), "
                f"{sizes.latency_s * 1000:.0f} ms server; Ray start-up and actors' sandboxes {start_s:.1f} s "
                f"(not in the ratio); accuracy local {local.accuracy:.3f}, ray "
                f"{result.summary.accuracy.mean:.3f} (the simulated model draws each answer at random, "
                "in the order requests arrive, so these differ by chance)"
            ),
            details={
                "local_s": local.seconds,
                "ray_s": ray_s,
                "ray_start_s": start_s,
                "examples": n,
                "concurrency": conc,
                "actors": ACTORS,
            },
        )
    ]


async def _on(session: Session, code: str, examples: Sequence[Example], task: Task) -> EvalResult:
    from agentkit.evaluate import evaluate_agent

    return await evaluate_agent(
        code,
        list(examples),
        task,
        client=session.client,
        model=session.model,
        runner=session.runner,
        executor=session.executor,
        trace_chars=200,
    )
