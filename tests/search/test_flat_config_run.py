"""A run written by agentkit 0.1, whose configuration is flat (``budget_usd``, ``workers``,
``extra["reflect"]``, ...), still opens, shows, reports and resumes: its configuration is migrated to
the nested shape whenever it is read.

The fixture ``tests/fixtures/flat_config_run`` was written by the release before the sections (commit
c7272dd): ``agentkit search --task gen/arithmetic --generations 1 --search-size 4 --test-size 2
--screen-size 0 --parallel 1 --self-review 0 --debug-attempts 1 --seeds cot --isolation process
--workers 2 --concurrency 2 --budget-tokens 200000 --no-contrastive`` against the fake server with the
scripted meta agent of ``search_scripted.py`` (`hashed_meta_reply`). Tests work on a copy of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, responder
from typer.testing import CliRunner

from agentkit.archive import Archive
from agentkit.cli import app
from agentkit.search import SearchConfig, migrate
from agentkit.search._config_file import flatten
from agentkit.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "flat_config_run"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(FIXTURE, copy)
    return copy


def test_the_fixture_is_in_the_flat_shape_and_migrates(run: Path) -> None:
    with Archive.open(run) as archive:
        stored = archive.config["search"]
    assert {"workers", "budget_tokens", "isolation", "extra"} <= set(stored)
    assert not {"budget", "sandbox", "prompt", "reflect"} & set(stored)
    config = SearchConfig.model_validate(stored)
    assert (config.sandbox.isolation, config.sandbox.workers) == ("process", 2)
    assert config.budget.max_tokens == 200000 and config.budget.max_cost_usd is None
    assert config.reflect.contrastive is False and config.reflect.monitor is True
    assert config.prompt.max_tokens == 6000 and config.generations == 1


def test_show_and_report_read_the_flat_run(run: Path) -> None:
    cli = CliRunner()
    shown = cli.invoke(app, ["show", str(run), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert len(data["agents"]) == 2 and data["selected"] == "a0002"
    table = cli.invoke(app, ["show", str(run)])
    assert table.exit_code == 0 and "gen/arithmetic" in table.stdout
    detail = cli.invoke(app, ["show", str(run), "a0002"])
    assert detail.exit_code == 0 and "def forward" in detail.stdout
    report = cli.invoke(app, ["report", str(run)])
    assert report.exit_code == 0, report.output
    html = (run / "report.html").read_text()
    assert "Full configuration" in html and "budget_tokens" in html  # shown as stored


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    with FakeOpenAIServer(responder(AgentWorld(), meta)) as srv:
        yield srv


@pytest.mark.sandbox
def test_the_flat_run_resumes_with_more_generations(
    run: Path, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    with Archive.open(run) as archive:
        stored_before = archive.config["search"]
        agents_before = len(archive.agents())
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTKIT_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "search", "--resume", str(run), "--generations", "2",
         "--api-base", server.base_url, "--no-progress", "--json"],
        env=env, capture_output=True, text=True, timeout=240, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "finished" and outcome["generations_done"] == 2
    with Archive.open(run) as archive:
        assert archive.integrity_check() == []
        assert len(archive.agents()) > agents_before
        assert any(a.generation == 2 for a in archive.agents())
        stored_after = archive.config["search"]
    # Stored again in the nested shape, and every setting the run started with has its value, except
    # what the resume changed.
    after = flatten(SearchConfig.model_validate(stored_after).model_dump(mode="json"))
    changed = {"generations": 2, "api_base": server.base_url, "progress": False}
    assert "sandbox" in stored_after and "workers" not in stored_after
    for key, value in flatten(migrate(stored_before)).items():
        assert after[key] == changed.get(key, value), key
