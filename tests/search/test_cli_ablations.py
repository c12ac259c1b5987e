"""Each search component is switched off by one flag, as a user runs it (`python -m agentkit search`)."""

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


def _search(server: FakeOpenAIServer, run_dir: Path, tmp_path: Path, *flags: str) -> dict[str, object]:
    args = [
        sys.executable, "-m", "agentkit", "search", "--task", "gen/arithmetic",
        "--model", "openai/fake-agent", "--meta-model", "openai/fake-meta", "--api-base", server.base_url,
        "--generations", "2", "--search-size", "6", "--test-size", "3", "--screen-size", "0",
        "--parallel", "2", "--self-review", "0", "--seeds", "cot", "--isolation", "process",
        "--workers", "2", "--no-progress", "--json", "--out", str(run_dir), *flags,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTKIT_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, object] = json.loads(done.stdout)
    return outcome


def test_everything_on_records_reflections_monitor_and_manual(server, tmp_path: Path) -> None:
    run = tmp_path / "full"
    _search(server, run, tmp_path)
    with Archive.open(run) as archive:
        assert archive.config["search"]["reflection"] is True
        assert archive.reflections(), "every evaluated candidate gets a reflection"
        assert archive.events("monitor"), "the monitor logs each generation"
        selections = [e.payload for e in archive.events("selection")]
        assert selections and all(p["mode"] == "complementary" for p in selections)
        assert all("control_partner" in p for p in selections)  # the random-partner control is logged


def test_ablation_flags_switch_each_component_off(server, tmp_path: Path) -> None:
    run = tmp_path / "ablated"
    _search(
        server, run, tmp_path,
        "--no-reflection", "--no-manual", "--no-contrastive", "--no-monitor", "--selection", "random",
    )  # fmt: skip
    with Archive.open(run) as archive:
        search = archive.config["search"]
        assert search["reflection"] is False and search["manual"] is False
        assert search["selection"] == "random"
        assert search["extra"]["reflect"] == {"contrastive": False, "monitor": False}
        assert archive.reflections() == []
        assert archive.rules() == []
        assert archive.events("monitor") == []
        assert archive.events("manual") == []
        assert len(archive.agents()) > 1  # the search itself still ran
        selections = [e.payload for e in archive.events("selection")]
        assert selections and all(p["mode"] == "random" for p in selections)
