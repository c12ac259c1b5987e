"""`--budget-usd` from the command line: refused up front for a model without a known price, enforced to
the dollar with a price given by ``--price`` (against the fake server, whose models litellm cannot price)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.archive import Archive
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox

PRICE_PER_MTOK = 100.0  # in and out: 100 dollars per million tokens, so one token costs $0.0001
SEARCH = [
    "search", "--task", "gen/arithmetic", "--search-size", "6", "--test-size", "3", "--screen-size", "0",
    "--generations", "2", "--parallel", "1", "--self-review", "0", "--seeds", "cot",
    "--isolation", "process", "--workers", "2", "--no-progress", "--json",
]  # fmt: skip


def _agentkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTKIT_CACHE_DIR"] = str(cwd / "cache")
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


def _refusal(model: str) -> str:
    return f"the dollar budget ($1) cannot be enforced: no price is known for model '{model}'"


def test_eval_with_a_dollar_budget_and_an_unpriced_model_refuses_to_start(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = _agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "3", "--budget-usd", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stdout == ""  # no results table
    assert out.stderr.startswith(f"error: {_refusal('openai/fake')}")
    assert "--price openai/fake=IN,OUT" in out.stderr
    assert "--budget-tokens / --budget-calls" in out.stderr
    assert arithmetic_server.requests == []  # refused before any call


def test_search_with_an_unpriced_meta_model_refuses_before_the_run_exists(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    out = _agentkit(
        *SEARCH, "--model", "openai/fake", "--meta-model", "openai/fake-meta",
        "--api-base", arithmetic_server.base_url, "--out", str(run_dir),
        "--budget-usd", "1", "--price", f"openai/fake={PRICE_PER_MTOK},{PRICE_PER_MTOK}",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2
    # The agent model has its price; only the meta model is named.
    assert out.stderr.startswith(f"error: {_refusal('openai/fake-meta')} (litellm")
    assert "'openai/fake'" not in out.stderr
    assert not run_dir.exists()
    assert arithmetic_server.requests == []


def test_search_with_a_price_stops_at_the_dollar_budget(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    budget = 0.5
    out = _agentkit(
        *SEARCH, "--model", "openai/fake", "--api-base", arithmetic_server.base_url, "--out", str(run_dir),
        "--budget-usd", str(budget), "--price", f"openai/fake={PRICE_PER_MTOK},{PRICE_PER_MTOK}",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    outcome = json.loads(out.stdout)
    assert outcome["status"] == "budget_exhausted"
    with Archive.open(run_dir) as archive:
        usage = archive.usage_by_role()
        stops = archive.events("budget_exhausted")
    calls = sum(u.calls for u in usage.values())
    tokens = sum(u.prompt_tokens + u.completion_tokens for u in usage.values())
    cost = sum(u.cost_usd or 0.0 for u in usage.values())
    # Calls were made and priced from --price (every token at $0.0001), and the total stays in budget.
    assert calls > 0 and tokens > 0
    assert cost == pytest.approx(tokens * PRICE_PER_MTOK / 1e6)
    assert 0 < cost <= budget
    assert outcome["spent"]["cost_usd"] == pytest.approx(cost)
    # Every request the server saw is booked: the call that would have crossed the limit was never sent.
    assert len(arithmetic_server.requests) == calls
    assert len(stops) == 1 and "the cost limit of $0.5" in stops[0].payload["message"]


async def test_run_search_from_python_refuses_an_unpriced_budget_before_the_run_exists(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """As the command line does: a refused start leaves no run directory that would block a corrected
    retry ("already holds an archive")."""
    import agentkit
    from agentkit.errors import ConfigError

    settings = {
        "task": "gen/arithmetic",
        "model": "openai/fake",
        "meta_model": "openai/fake",
        "api_base": arithmetic_server.base_url,
        "budget": {"max_cost_usd": 1.0},
    }
    with pytest.raises(ConfigError, match=r"the dollar budget \(\$1\) cannot be enforced"):
        await agentkit.run_search(agentkit.SearchConfig(**settings), tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert arithmetic_server.requests == []
