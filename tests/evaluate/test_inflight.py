"""One ``--concurrency``: as many examples at once, and as many requests in flight to the model.

The fake server holds requests until the expected number is in flight at once (`gather_requests`), so
the counts below do not depend on timing: a client that allows fewer never gets there.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import agentkit
from agentkit.llm import DEFAULT_MAX_INFLIGHT, inflight_limit
from agentkit.search import SearchConfig
from agentkit.search._run import model_configs
from agentkit.testing import FakeOpenAIServer, model_config_for

SEED_COT = Path(__file__).resolve().parents[2] / "archives" / "seed" / "cot.py"


def _eval(server: FakeOpenAIServer, tmp_path: Path, *extra: str) -> dict[str, object]:
    env = {**os.environ, "AGENTKIT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "agentkit", "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "48"),
            *(
                "--isolation",
                "trusted",
                "--no-cache",
                "--model",
                "openai/fake",
                "--api-base",
                server.base_url,
            ),
            *("--json", *extra),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_eval_concurrency_is_the_models_requests_in_flight(tmp_path: Path) -> None:
    with FakeOpenAIServer(latency_s=0.05) as server:
        server.gather_requests(48, timeout_s=20)
        out = _eval(server, tmp_path, "--concurrency", "48")
        most = server.max_in_flight
    assert out["n"] == 48
    assert most == 48  # not the model's default of 16


def test_max_inflight_overrides_concurrency(tmp_path: Path) -> None:
    with FakeOpenAIServer(latency_s=0.3) as server:
        server.gather_requests(20, timeout_s=20)
        out = _eval(server, tmp_path, "--concurrency", "48", "--max-inflight", "20")
        most = server.max_in_flight
    assert out["n"] == 48
    assert most == 20


def test_the_limit_rule() -> None:
    assert inflight_limit(48) == 48
    assert inflight_limit(4) == DEFAULT_MAX_INFLIGHT  # a few examples at once keep what the model had
    assert inflight_limit(48, 8) == 8 and inflight_limit(4, 100) == 100


def test_a_search_gives_its_models_the_examples_it_runs_at_once() -> None:
    config = SearchConfig(task="gen/arithmetic", concurrency=24, parallel=3, meta_model="openai/m")
    agent, meta = model_configs(config)
    assert agent.max_concurrency == meta.max_concurrency == 72
    agent, meta = model_configs(config.model_copy(update={"max_inflight": 10}))
    assert agent.max_concurrency == meta.max_concurrency == 10


def test_load_agent_concurrency_reaches_the_model(tmp_path: Path) -> None:
    os.environ.setdefault("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    with FakeOpenAIServer(latency_s=0.05) as server:
        server.gather_requests(40, timeout_s=20)
        model = model_config_for(server)
        with agentkit.load_agent(SEED_COT, model=model, trusted=True, cache=False, concurrency=40) as agent:

            async def ask_all() -> list[agentkit.AgentAnswer]:
                return await asyncio.gather(*(agent.acall(f"What is {i} + 1?") for i in range(40)))

            answers = asyncio.run(ask_all())
        most = server.max_in_flight
    assert all(a.error is None for a in answers)
    assert most == 40
