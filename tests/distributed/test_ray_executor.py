"""`RayExecutor` on a real two-node local Ray against the fake OpenAI server: the same scores as on one
machine, one budget for the cluster, and a killed actor losing nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentkit.distributed import RayExecutor
from agentkit.evaluate import EvalResult, ExampleResult, Session, evaluate_agent, resolve_agent
from agentkit.llm import Budget
from agentkit.sandbox import SandboxConfig
from agentkit.tasks import load_task
from agentkit.testing import FakeOpenAIServer, model_config_for

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(240)]

COT = resolve_agent("cot").code


async def _evaluate(
    server: FakeOpenAIServer,
    n: int,
    *,
    ray: bool,
    budget: Budget | None = None,
    on_result: object = None,
    seen: list[RayExecutor] | None = None,
    cache_dir: Path | None = None,
) -> EvalResult:
    task = load_task("gen/arithmetic")
    model = model_config_for(server)
    sandbox = SandboxConfig(workers=2, wall_time_s=60)
    if not ray:
        cached = cache_dir is not None
        async with Session.open(
            model, sandbox=sandbox, budget=budget, cache=cached, cache_dir=cache_dir
        ) as s:
            return await evaluate_agent(
                COT, task.examples[:n], task, client=s.client, model=s.model, runner=s.runner, concurrency=2
            )
    async with (
        RayExecutor(
            actors=2,
            per_actor=2,
            sandbox=sandbox,
            budget=budget,
            cache=cache_dir is not None,
            cache_dir=cache_dir,
        ) as ex,
        Session.open(
            model, cache=cache_dir is not None, cache_dir=cache_dir, budget=budget, executor=ex
        ) as s,
    ):
        if seen is not None:
            seen.append(ex)
        result = await evaluate_agent(
            COT,
            task.examples[:n],
            task,
            client=s.client,
            model=s.model,
            runner=s.runner,
            executor=s.executor,
            on_result=on_result,  # type: ignore[arg-type]
        )
        if seen is not None:
            assert ex.isolation_level == s.isolation_level
        return result


def test_the_same_examples_get_the_same_scores_on_ray_as_locally(
    ray_cluster: str, server: FakeOpenAIServer
) -> None:
    local = asyncio.run(_evaluate(server, 12, ray=False))
    on_ray = asyncio.run(_evaluate(server, 12, ray=True))
    assert [r.example_id for r in on_ray.results] == [r.example_id for r in local.results]
    assert [r.score for r in on_ray.results] == [r.score for r in local.results]
    assert [r.answer for r in on_ray.results] == [r.answer for r in local.results]
    assert 0 < on_ray.summary.accuracy.mean < 1  # the fake model gets some wrong: a real comparison
    assert on_ray.summary.accuracy == local.summary.accuracy


def test_one_budget_stops_the_whole_cluster_at_its_limit(ray_cluster: str, server: FakeOpenAIServer) -> None:
    seen: list[RayExecutor] = []
    result = asyncio.run(_evaluate(server, 12, ray=True, budget=Budget(max_calls=5), seen=seen))
    assert len(server.requests) == 5  # two actors, one limit: not 5 each
    assert sum(r.llm_calls for r in result.results) == 5
    kinds = [r.error.kind for r in result.results if r.error is not None]
    assert kinds == ["budget"] * 7


def test_a_killed_actor_loses_nothing_and_keeps_what_it_finished(
    ray_cluster: str, server: FakeOpenAIServer
) -> None:
    import ray

    server.latency_s = 0.3  # examples stay in flight long enough to be caught by the kill
    seen: list[RayExecutor] = []
    landed: list[ExampleResult] = []

    def on_result(result: ExampleResult) -> None:
        landed.append(result)
        if len(landed) == 3:
            ray.kill(seen[0].actors[0], no_restart=True)

    result = asyncio.run(_evaluate(server, 12, ray=True, on_result=on_result, seen=seen))
    assert seen[0].replaced == 1
    ids = [r.example_id for r in landed]
    assert len(ids) == 12 and len(set(ids)) == 12  # each example recorded once, none lost
    assert [r.example_id for r in result.results] == [e.id for e in load_task("gen/arithmetic").examples[:12]]
    assert all(r.error is None for r in result.results)
    local = asyncio.run(_evaluate(server, 12, ray=False))
    assert [r.score for r in result.results] == [r.score for r in local.results]


def test_the_cluster_shares_one_reply_cache_with_the_local_runs(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    first = asyncio.run(_evaluate(server, 6, ray=True, cache_dir=cache_dir))
    sent = len(server.requests)
    assert sent == 6 and (cache_dir / "llm_cache.sqlite3").exists()  # the driver's own cache file
    again = asyncio.run(_evaluate(server, 6, ray=True, cache_dir=cache_dir))
    local = asyncio.run(_evaluate(server, 6, ray=False, cache_dir=cache_dir))
    assert len(server.requests) == sent  # every actor found every reply, and so did the local run
    assert all(call.cached for r in again.results + local.results for call in r.trace)
    assert (
        [r.answer for r in again.results]
        == [r.answer for r in first.results]
        == [r.answer for r in local.results]
    )
