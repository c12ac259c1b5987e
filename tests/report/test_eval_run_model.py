"""`eval --run` without --model scores a run's agents with the run's model at the run's endpoint (it used
the default model, and then refused the right one); --api-base without a model is refused, not dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import run_agentkit

from agentkit.archive import Archive
from agentkit.errors import ConfigError
from agentkit.llm import resolve_model
from agentkit.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
CODE = "def forward(self, taskInfo):\n    return LLMAgentBase(['answer'], 'A')([taskInfo], 'Answer.')[0]\n"


@pytest.mark.sandbox
def test_eval_run_without_a_model_uses_the_runs_model_and_endpoint(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        settings = {"task": "gen/arithmetic", "model": "openai/fake-agent", "api_base": server.base_url}
        with Archive.create(tmp_path / "run", {"search": settings}) as archive:
            archive.add_agent("Answerer", CODE, generation=1, origin="meta")
        done = run_agentkit("eval", "--run", str(tmp_path / "run"), "--limit", "2", "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["model"] == "openai/fake-agent"
        assert {r["model"] for r in server.requests} == {"fake-agent"} and len(server.requests) == 2
        # what it sent is in the run's usage, so the run's totals and cost by role include it
        with Archive.open(tmp_path / "run") as archive:
            assert archive.usage_by_role()["eval"].calls == 2
        # and again, the run's evaluation model stays the one to use
        again = run_agentkit(
            "eval", "--run", str(tmp_path / "run"), "--limit", "3", "--agent-max-tokens", "66", "--json",
            cwd=tmp_path,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == 3  # two were reused from the run
        assert server.requests[-1]["max_tokens"] == 66  # --agent-max-tokens reaches the run's model too


def test_an_api_base_without_a_model_is_refused_on_the_command_line_only() -> None:
    from agentkit.cli._options import check_api_base

    for name in (None, "local"):
        with pytest.raises(
            ConfigError, match=r"give the model it serves as well, e\.g\. --model openai/<name>"
        ):
            check_api_base(name, "http://127.0.0.1:9/v1")
    check_api_base("openai/x", "http://127.0.0.1:9/v1")
    # a library caller may give one api_base to several models, the local one among them (a search's
    # meta model, a sweep's default model list): it is not refused there
    assert resolve_model("local", api_base="http://127.0.0.1:9/v1").model == "local"
    from agentkit.search import SearchConfig, model_configs

    config = SearchConfig(
        task="gen/arithmetic", model="openai/x", meta_model="local", api_base="http://127.0.0.1:9/v1"
    )
    assert [m.model for m in model_configs(config)] == ["openai/x", "local"]


def test_eval_with_api_base_and_no_model_stops_in_one_line(tmp_path: Path) -> None:
    done = run_agentkit(
        "eval",
        "--agent",
        "cot",
        "--task",
        "gen/arithmetic",
        "--api-base",
        "http://127.0.0.1:9/v1",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "--api-base" in done.stderr and "--model openai/<name>" in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1


async def test_eval_run_passes_over_the_runs_search_and_sealed_test_questions(tmp_path: Path) -> None:
    from agentkit.report import evaluate_run
    from agentkit.tasks import load_task

    ids = [e.id for e in load_task("gen/arithmetic").examples]
    with FakeOpenAIServer() as server:
        settings = {"task": "gen/arithmetic", "model": "openai/fake-agent", "api_base": server.base_url}
        with Archive.create(tmp_path / "run", {"search": settings}) as archive:
            archive.add_agent("Answerer", CODE, generation=1, origin="meta")
            archive.set_state("search_ids", [ids[0], ids[2]])
            archive.set_state("test_ids", [ids[1], ids[4]])
        done = await evaluate_run(tmp_path / "run", limit=3, isolation="trusted", cache=False)
        with Archive.open(tmp_path / "run") as archive:
            scored = [r.example_id for r in archive.results(archive.agents()[0].id, "eval")]
    assert sorted(scored) == sorted([ids[3], ids[5], ids[6]])  # the first three outside both splits
    assert done.left_out == 4 and done.limit == 3


def test_the_runs_own_model_named_on_the_command_line_is_reached_at_the_runs_endpoint() -> None:
    from agentkit.report._rescore import _run_model

    config = {"search": {"task": "gen/arithmetic", "model": "openai/fake-agent", "api_base": "http://h:1/v1"}}
    for given in (None, "openai/fake-agent"):
        model, overrides = _run_model(config, given, {})
        assert model == "openai/fake-agent" and overrides["api_base"] == "http://h:1/v1"
    # another model, or another endpoint given, is left as given
    assert _run_model(config, "openai/other", {}) == ("openai/other", {})
    assert _run_model(config, None, {"api_base": "http://x:2/v1"})[1] == {"api_base": "http://x:2/v1"}
