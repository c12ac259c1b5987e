"""`agentkit eval --config` and `agentkit bench --config` read a search's settings file (the keys of the
report's full configuration): task, model, endpoint, sandbox, cache, seed; flags given as well win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_eval_cli import _agentkit  # `agentkit ...` in a subprocess with its own cache

pytestmark = pytest.mark.sandbox


def test_eval_and_bench_read_a_search_config_file(arithmetic_server, tmp_path: Path) -> None:
    printed = _agentkit(
        "search", "--task", "gen/arithmetic", "--model", "openai/fake", "--api-base", arithmetic_server.base_url,
        "--isolation", "process", "--concurrency", "3", "--no-cache", "--print-config",
        cwd=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    config = tmp_path / "run.toml"
    config.write_text(printed.stdout)

    out = _agentkit("eval", "--agent", "cot", "--config", str(config), "--limit", "4", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert (payload["task"], payload["model"], payload["n"], payload["accuracy"]) == (
        "gen/arithmetic",
        "openai/fake",
        4,
        1.0,
    )
    assert payload["isolation"].startswith("process")  # the file's sandbox.isolation
    assert not (tmp_path / "cache").exists()  # the file's cache = false

    # A flag given as well overrides the file.
    out = _agentkit(
        "bench", "--agents", "cot,step_back", "--config", str(config), "--task", "gen/boolean", "--limit", "3",
        "--out", str(tmp_path / "bench"), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["task"] == "gen/boolean"


def test_a_config_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('task = "gen/arithmetic"\nmodle = "openai/fake"\n')
    out = _agentkit("eval", "--agent", "cot", "--config", str(config), cwd=tmp_path)
    assert out.returncode != 0
    assert "unknown setting(s) modle" in out.stderr


def test_the_agent_model_settings_of_a_config_file_reach_the_model(arithmetic_server, tmp_path: Path) -> None:
    """A search's `agent_max_tokens` (and `agent_temperature`) in a --config file were ignored by eval
    and bench, which had no option for them; now they are --agent-max-tokens / --agent-temperature."""
    config = tmp_path / "run.toml"
    config.write_text("agent_max_tokens = 77\n")
    out = _agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--isolation", "process", "--limit", "2",
        "--config", str(config), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [r["max_tokens"] for r in arithmetic_server.requests] == [77, 77]
    out = _agentkit(
        "bench", "--agents", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--isolation", "process", "--limit", "2", "--no-cache",
        "--config", str(config), "--agent-max-tokens", "55", "--out", str(tmp_path / "b"), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [r["max_tokens"] for r in arithmetic_server.requests[2:]] == [55, 55]  # the flag wins
