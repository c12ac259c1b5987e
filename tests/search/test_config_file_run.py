"""A TOML config reproduces a CLI run: `agentkit search` with flags, then `agentkit search --config` with
what ``--print-config`` wrote for those flags, store the same configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, responder

from agentkit.archive import Archive
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    with FakeOpenAIServer(responder(AgentWorld(), meta)) as srv:
        yield srv


def _agentkit(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTKIT_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_toml_config_reproduces_a_cli_run(server: FakeOpenAIServer, tmp_path: Path) -> None:
    flags = [
        "--task", "gen/arithmetic", "--model", "openai/fake-agent", "--meta-model", "openai/fake-meta",
        "--api-base", server.base_url, "--generations", "1", "--search-size", "5", "--test-size", "2",
        "--screen-size", "0", "--parallel", "1", "--self-review", "0", "--debug-attempts", "1",
        "--seeds", "cot", "--isolation", "process", "--workers", "2", "--concurrency", "2",
        "--example-timeout", "60", "--budget-tokens", "900000", "--budget-calls", "500", "--seed", "4",
        "--selection", "best", "--top-k", "1", "--no-contrastive", "--reflect-model", "openai/fake-meta",
        "--no-progress",
    ]  # fmt: skip
    by_flags = tmp_path / "by-flags"
    _agentkit(tmp_path, "search", *flags, "--json", "--out", str(by_flags))

    printed = _agentkit(tmp_path, "search", *flags, "--print-config").stdout
    assert not (tmp_path / "archives").exists()  # printing the config starts nothing
    config_file = tmp_path / "run.toml"
    config_file.write_text(printed)
    by_file = tmp_path / "by-file"
    outcome = json.loads(
        _agentkit(tmp_path, "search", "--config", str(config_file), "--json", "--out", str(by_file)).stdout
    )
    assert outcome["status"] == "finished"

    with Archive.open(by_flags) as a, Archive.open(by_file) as b:
        assert a.config["search"] == b.config["search"]
        stored = a.config["search"]
    assert stored["budget"]["max_tokens"] == 900000 and stored["sandbox"]["wall_time_s"] == 60.0
    assert stored["reflect"]["contrastive"] is False and stored["selection"] == "best"
