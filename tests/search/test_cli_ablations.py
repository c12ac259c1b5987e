"""Each search component is switched off by one flag, as a user runs it: every ablation flag of
`agentkit search` (in a child process, `python -m agentkit search`) and of `agentkit demo` (its config
pointed at the fake server) changes the stored run, against a baseline run with everything on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, responder
from typer.testing import CliRunner

from agentkit.archive import Archive
from agentkit.llm import ModelConfig
from agentkit.search import SearchConfig
from agentkit.search._sections import ReflectConfig  # the type of the `reflect` section
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox
REPO = Path(__file__).resolve().parents[2]
REFLECT_MODEL = "openai/fake-reflect"

Runner = Callable[..., Archive]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    with FakeOpenAIServer(responder(AgentWorld(), meta, reflect=True)) as srv:
        yield srv


def _search(server: FakeOpenAIServer, run_dir: Path, tmp_path: Path, *flags: str) -> Archive:
    args = [
        sys.executable, "-m", "agentkit", "search", "--task", "gen/arithmetic",
        "--model", "openai/fake-agent", "--meta-model", "openai/fake-meta", "--api-base", server.base_url,
        "--generations", "1", "--search-size", "6", "--test-size", "3", "--screen-size", "0",
        "--parallel", "2", "--self-review", "0", "--seeds", "cot", "--isolation", "process",
        "--workers", "2", "--proposals", "code", "--no-progress", "--json", "--out", str(run_dir), *flags,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTKIT_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["status"] == "finished"
    return Archive.open(run_dir)


def _demo(server: FakeOpenAIServer, run_dir: Path, monkeypatch: pytest.MonkeyPatch, *flags: str) -> Archive:
    import agentkit.cli._search as cli_search
    from agentkit.cli._app import app

    real = cli_search.demo_config()
    fake = SearchConfig.model_validate(
        {
            **real.model_dump(),
            "task": "gen/arithmetic",
            "task_options": {},
            "model": "openai/fake-agent",
            "meta_model": "openai/fake-meta",
            "api_base": server.base_url,
            "sandbox": {**real.sandbox.model_dump(), "isolation": "process"},
            "cache": False,
            "screen_size": 0,
            "parallel": 2,
            # The scripted meta agent writes code (the demo's embedded model is asked for workflows).
            "proposals": "code",
        }
    )
    monkeypatch.setattr(cli_search, "demo_config", lambda: fake)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(
        app, ["demo", "--out", str(run_dir), "--generations", "1", "--no-progress", *flags]
    )
    assert result.exit_code == 0, result.output
    return Archive.open(run_dir)


@pytest.fixture(params=["search", "demo"])
def run(
    request: pytest.FixtureRequest,
    server: FakeOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Runner:
    """Runs the command under test with flags into tmp_path/name and opens the archive."""

    def go(name: str, *flags: str) -> Archive:
        if request.param == "search":
            return _search(server, tmp_path / name, tmp_path, *flags)
        return _demo(server, tmp_path / name, monkeypatch, *flags)

    return go


def _reflect_usage(archive: Archive) -> set[str]:
    return {u.model for u in archive.usage() if u.role == "reflect"}


def _switches(reflect: ReflectConfig) -> dict[str, object]:
    """The ablation switches and the reflection model of a reflect section (the demo also sets limits)."""
    return reflect.model_dump(include={"reflection", "manual", "contrastive", "monitor", "adjust", "model"})


def _config(archive: Archive) -> SearchConfig:
    """The stored settings, read as a resumed run reads them (whatever shape they were stored in)."""
    return SearchConfig.model_validate(archive.config["search"])


def test_every_ablation_flag_changes_the_run(run: Runner, server: FakeOpenAIServer) -> None:
    with run("full") as full:
        config = _config(full)
        assert _switches(config.reflect) == _switches(ReflectConfig())  # everything on
        assert full.reflections(), "every candidate is reflected on"
        assert full.rules("active"), "the manual has active rules"
        assert full.events("manual") and full.events("monitor")
        assert _reflect_usage(full) == {"openai/fake-meta"}  # the meta model reflects by default
        assert full.events("hook_error") == []
        limits = {r.get("max_tokens") for r in server.requests if r.get("model") == "fake-agent"}
        assert limits == {config.agent_max_tokens or ModelConfig(model="x").max_tokens}  # 256 in the demo
        selections = [e.payload for e in full.events("selection")]
        assert selections and all(p["mode"] == "complementary" for p in selections)

    with run("no-reflection", "--no-reflection") as ablated:
        assert _switches(_config(ablated).reflect) == _switches(ReflectConfig(reflection=False))
        assert ablated.reflections() == [] and ablated.rules() == []
        assert ablated.events("monitor")  # the other components still run

    with run("no-manual-no-monitor", "--no-manual", "--no-monitor") as ablated:
        config = _config(ablated)
        assert _switches(config.reflect) == _switches(ReflectConfig(manual=False, monitor=False))
        assert ablated.reflections()  # reflection still runs
        assert ablated.rules() == [] and ablated.events("manual") == []
        assert ablated.events("monitor") == []

    before = len(server.requests)
    with run("no-contrastive-reflect-model", "--no-contrastive", "--reflect-model", REFLECT_MODEL) as ablated:
        assert _switches(_config(ablated).reflect) == _switches(
            ReflectConfig(contrastive=False, model=REFLECT_MODEL)
        )
        shown = [e.payload for e in ablated.events("manual")]
        assert shown and not any(p["contrast"] for p in shown)
        assert ablated.reflections() and ablated.rules("active")
        assert _reflect_usage(ablated) == {REFLECT_MODEL}
    asked = {r["model"] for r in server.requests[before:] if "You review agents" in json.dumps(r)}
    assert asked == {"fake-reflect"}


def test_everything_off_still_searches_with_random_selection(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    flags = ("--no-reflection", "--no-manual", "--no-contrastive", "--no-monitor", "--selection", "random")
    with _search(server, tmp_path / "ablated", tmp_path, *flags) as archive:
        config = _config(archive)
        assert config.reflect == ReflectConfig(
            reflection=False, manual=False, contrastive=False, monitor=False
        )
        assert config.selection == "random"
        assert archive.reflections() == [] and archive.rules() == []
        assert archive.events("monitor") == [] and archive.events("manual") == []
        assert len(archive.agents()) > 1  # the search itself still ran
        selections = [e.payload for e in archive.events("selection")]
        assert selections and all(p["mode"] == "random" for p in selections)
        assert all("control_partner" in p for p in selections)  # the random-partner control is logged
