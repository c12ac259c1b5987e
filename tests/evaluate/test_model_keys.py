"""Fail fast on configuration, for every model a command needs: a judge or reflection model whose provider
needs a key that is not set stops eval, bench, judge-check and search before anything runs,
with one message naming the model and the variable (the agent's own model is the embedded one, which
needs no key, so only the other model can be the reason)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")
_NEEDS_KEY = "anthropic/claude-3-5-haiku-latest"


def _agentkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _KEYS} | {"AGENTKIT_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


def _one_line_naming_the_key(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "ANTHROPIC_API_KEY" in lines[0] and _NEEDS_KEY in lines[0]
    assert out.stdout.strip() == ""


@pytest.fixture
def judged(tmp_path: Path) -> tuple[list[str], str]:
    """The options and the name of a one-question JSONL task scored by a judge."""
    data = tmp_path / "capitals.jsonl"
    data.write_text(json.dumps({"input": "Capital of Peru?", "target": "Lima"}) + "\n")
    return ["--opt", "scorer=judge", "--opt", "rubric=Names the capital."], f"jsonl:{data}"


def test_eval_checks_the_judge_models_key(tmp_path: Path, judged: tuple[list[str], str]) -> None:
    opts, task = judged
    out = _agentkit(
        "eval", "--agent", "cot", "--task", task, *opts, "--model", "local", "--judge-model", _NEEDS_KEY,
        cwd=tmp_path,
    )  # fmt: skip
    _one_line_naming_the_key(out)
    assert not (tmp_path / "cache").exists()  # nothing was sent


def test_bench_checks_the_judge_models_key(tmp_path: Path, judged: tuple[list[str], str]) -> None:
    opts, task = judged
    out = _agentkit(
        "bench", "--task", task, *opts, "--agents", "cot", "--model", "local", "--judge-model", _NEEDS_KEY,
        "--out", str(tmp_path / "bench"),
        cwd=tmp_path,
    )  # fmt: skip
    _one_line_naming_the_key(out)
    assert not (tmp_path / "bench").exists()


def test_judge_check_checks_the_judge_models_key(tmp_path: Path, judged: tuple[list[str], str]) -> None:
    _, task = judged
    out = _agentkit(
        "judge-check", "--task", task, "--agent", "cot", "--model", "local", "--judge-model", _NEEDS_KEY,
        cwd=tmp_path,
    )  # fmt: skip
    _one_line_naming_the_key(out)


def test_search_checks_the_reflection_models_key_before_the_run_exists(tmp_path: Path) -> None:
    out = _agentkit(
        "search", "--task", "gen/arithmetic", "--model", "local", "--meta-model", "local",
        "--reflect-model", _NEEDS_KEY, "--generations", "1", "--out", str(tmp_path / "run"), "--no-progress",
        cwd=tmp_path,
    )  # fmt: skip
    _one_line_naming_the_key(out)
    assert not (tmp_path / "run").exists()


def test_a_reflection_model_that_is_not_used_is_not_checked() -> None:
    from agentkit.search import SearchConfig
    from agentkit.search._run import needed_models

    on = SearchConfig(task="gen/arithmetic", model="local", meta_model="local", reflect={"model": _NEEDS_KEY})
    assert [m.model for m in needed_models(on)] == ["local", "local", _NEEDS_KEY]
    off = on.model_copy(
        update={"reflect": on.reflect.model_copy(update={"reflection": False, "manual": False})}
    )
    assert [m.model for m in needed_models(off)] == ["local", "local"]


def test_load_agent_says_at_once_what_its_model_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """An app loading an agent learns of a missing key, or a server that is not running, when it loads
    the agent, not two minutes into its first question (the call's time limit)."""
    import socket

    import agentkit
    from agentkit.errors import ConfigError

    for key in _KEYS:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match=f"{_NEEDS_KEY} needs ANTHROPIC_API_KEY"):
        agentkit.load_agent("cot", model=_NEEDS_KEY)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = agentkit.ModelConfig(model="openai/fake", api_base=f"http://127.0.0.1:{port}/v1", api_key="x")
    with pytest.raises(ConfigError, match="connection refused"):
        agentkit.load_agent("cot", model=config, concurrency=4)
    with pytest.raises(TypeError, match="answer_format must be a string, not int"):
        agentkit.load_agent("cot", model="local", answer_format=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["nonsense", "mistral-large"])
def test_a_model_name_no_provider_serves_is_refused_at_load(name: str) -> None:
    import agentkit
    from agentkit.errors import ConfigError

    # before: the agent loaded, and every question failed with litellm's "LLM Provider NOT provided"
    with pytest.raises(
        ConfigError, match=f"'{name}' names no provider litellm knows: write it as provider/name"
    ):
        agentkit.load_agent("cot", model=name, trusted=True)


def test_known_names_with_and_without_a_prefix_pass_the_provider_check() -> None:
    from agentkit.llm import resolve_model
    from agentkit.llm._keys import unknown_provider

    for name in (
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        "anthropic/claude-3-5-haiku-latest",
        "ollama/llama3",
        "local",
    ):
        assert not unknown_provider(resolve_model(name)), name
    # a self-hosted endpoint answers openai/<anything> without litellm
    assert not unknown_provider(resolve_model("openai/my-finetune", api_base="http://127.0.0.1:9/v1"))
    assert unknown_provider(resolve_model("my-finetune"))


def test_eval_with_a_model_name_no_provider_serves_says_so_in_one_line(tmp_path: Path) -> None:
    out = _agentkit(
        "eval",
        "--agent",
        "cot",
        "--task",
        "gen/arithmetic",
        "--model",
        "nonsense",
        "--limit",
        "2",
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "'nonsense' names no provider" in lines[0], out.stderr
