"""`search` with ``executor = "ray"``: the candidates of each generation are scored on Ray actors, with
the same scores as the same search on one machine, and every model call booked in the run's archive."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, responder

from agentkit.archive import Archive
from agentkit.distributed import RayExecutor
from agentkit.search import SearchConfig, run_search
from agentkit.testing import FakeOpenAIServer

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]


def _config(server: FakeOpenAIServer, **changes: Any) -> SearchConfig:
    settings: dict[str, Any] = {
        "task": "gen/arithmetic",
        "model": "openai/fake-agent",
        "meta_model": "openai/fake-meta",
        "api_base": server.base_url,
        "generations": 2,
        "search_size": 6,
        "test_size": 3,
        "screen_size": 0,
        "parallel": 2,
        "self_review": 0,
        "debug_attempts": 0,
        "seeds": ["cot", "self_refine"],
        "sandbox": {"isolation": "process", "workers": 2, "wall_time_s": 60.0},
        "concurrency": 2,
        "cache": False,
        "top_k": 1,
        "progress": False,
        "proposals": "code",
        "ensembles": False,
        "reflect": {"reflection": False, "manual": False},
    }
    return SearchConfig(**(settings | changes))


def _scores(run_dir: Path) -> tuple[dict[str, tuple[str, float | None]], int]:
    with Archive.open(run_dir) as archive:
        scores = {}
        for agent in archive.agents():
            search = agent.summaries.get("search")
            scores[agent.name] = (agent.status, search.accuracy.mean if search else None)
        booked = sum(t.calls for t in archive.usage_by_role().values())
    return scores, booked


def test_a_search_on_ray_scores_like_one_on_this_machine_and_books_every_call(
    ray_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_actors: list[int] = []
    original = RayExecutor.run_examples

    async def counted(self: RayExecutor, code: str, examples: Any, *args: Any, **kwargs: Any) -> Any:
        on_actors.append(len(examples))
        return await original(self, code, examples, *args, **kwargs)

    monkeypatch.setattr(RayExecutor, "run_examples", counted)
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    with FakeOpenAIServer(responder(AgentWorld(), meta)) as server:
        local = asyncio.run(run_search(_config(server), tmp_path / "local"))
        assert local.status == "finished", local.reason
        assert not on_actors
        server.reset()
        on_ray = asyncio.run(run_search(_config(server, executor="ray", ray_actors=2), tmp_path / "ray"))
        assert on_ray.status == "finished", on_ray.reason
        sent = len(server.requests)
    assert sum(on_actors) >= 4 * 6  # every agent's search examples ran on the actors
    local_scores, _ = _scores(tmp_path / "local")
    ray_scores, booked = _scores(tmp_path / "ray")
    assert ray_scores == local_scores and len(ray_scores) >= 4  # the seeds and the proposals
    assert booked == sent  # the actors' agent calls and the driver's meta calls, all in the archive
    assert on_ray.selected is not None and local.selected is not None
    assert on_ray.selected.name == local.selected.name
