"""Arguments of the wrong kind to the public functions are named in a TypeError (or ConfigError for a
count out of range) at the call, not an AttributeError from deep inside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agentkit
from agentkit.errors import ConfigError


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": 123}, TypeError, "model must be a string or a ModelConfig, not int"),
        ({"task": 5}, TypeError, "task must be a string or a Task, not int"),
        ({"answer_format": 3}, TypeError, "answer_format must be a string, not int"),
        ({"workers": 0}, ConfigError, "workers must be at least 1, not 0"),
        ({"concurrency": -1}, ConfigError, "concurrency must be at least 1, not -1"),
        ({"trace_chars": -5}, ConfigError, "trace_chars must be 0 or more, not -5"),
    ],
)
def test_load_agent_names_the_wrong_argument(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        agentkit.load_agent("cot", **kwargs)


def test_load_task_and_evaluate_agent_and_run_search_name_the_wrong_argument(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="a task name is a string such as 'gsm8k'"):
        agentkit.load_task(5)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"task must be a Task \(agentkit.load_task\('gen/arithmetic'\) gives one\)"
    ):
        import asyncio

        asyncio.run(
            agentkit.evaluate_agent("", [], "gen/arithmetic", client=None, model="local", runner=None)  # type: ignore[arg-type]
        )
    with pytest.raises(TypeError, match="config must be a SearchConfig"):
        import asyncio

        asyncio.run(agentkit.run_search({"task": "gen/arithmetic"}, tmp_path / "run"))  # type: ignore[arg-type]
    assert not (tmp_path / "run").exists()


def test_load_agent_keeps_the_text_of_its_calls_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.testing import FakeOpenAIServer, model_config_for

    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    with FakeOpenAIServer() as server:
        model = model_config_for(server)
        with agentkit.load_agent("cot", model=model, trusted=True, trace_chars=500) as agent:
            kept = agent("What is 2 + 2?").trace
        with agentkit.load_agent("cot", model=model, trusted=True) as agent:
            bare = agent("What is 2 + 2?").trace
    assert kept and "What is 2 + 2?" in kept[0].prompt and kept[0].reply
    assert bare and bare[0].prompt == "" and bare[0].reply == ""
