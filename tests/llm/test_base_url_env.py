"""``OPENAI_BASE_URL`` / ``OPENAI_API_BASE`` for ``openai/...`` models, as the openai SDK and litellm read
them; an api_base in the config wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.llm import LLMClient, ModelConfig, check_keys
from agentkit.llm._endpoints import api_base_of, cache_endpoint
from agentkit.testing import FakeOpenAIServer

USER = [{"role": "user", "content": "2 + 2?"}]


@pytest.fixture
def second() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(variable, raising=False)


async def test_openai_base_url_serves_openai_models(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    reply = await LLMClient(cache=False).complete(USER, ModelConfig(model="openai/fake", timeout_s=5))
    assert reply.text == "ok"
    assert [r["model"] for r in server.requests] == ["fake"]


async def test_openai_api_base_too_and_base_url_first(
    server: FakeOpenAIServer, second: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ModelConfig(model="openai/fake", timeout_s=5)
    monkeypatch.setenv("OPENAI_API_BASE", second.base_url)
    await LLMClient(cache=False).complete(USER, model)
    assert (len(server.requests), len(second.requests)) == (0, 1)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    await LLMClient(cache=False).complete(USER, model)
    assert (len(server.requests), len(second.requests)) == (1, 1)


async def test_a_configured_api_base_wins(
    server: FakeOpenAIServer, second: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", second.base_url)
    model = ModelConfig(model="openai/fake", api_base=server.base_url, timeout_s=5)
    await LLMClient(cache=False).complete(USER, model)
    assert (len(server.requests), len(second.requests)) == (1, 0)


async def test_the_cache_tells_the_endpoints_apart(
    server: FakeOpenAIServer, second: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = LLMClient(cache_dir=tmp_path)
    model = ModelConfig(model="openai/fake", timeout_s=5)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    assert cache_endpoint(model) == server.base_url
    first = await client.complete(USER, model)
    monkeypatch.setenv("OPENAI_BASE_URL", second.base_url)
    other = await client.complete(USER, model)
    assert not first.cached and not other.cached  # another server: not the first one's reply
    assert len(second.requests) == 1


def test_only_openai_models_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert api_base_of(ModelConfig(model="openai/gpt-4o-mini")) == "http://127.0.0.1:9/v1"
    assert api_base_of(ModelConfig(model="anthropic/claude-haiku-4-5")) is None
    assert api_base_of(ModelConfig(model="local")) is None


def test_a_base_url_in_the_environment_needs_no_key_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    check_keys([ModelConfig(model="openai/fake")])  # a self-hosted server may want none: not refused


def test_agentkit_eval_with_openai_base_url(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        env = {
            **os.environ,
            "AGENTKIT_CACHE_DIR": str(tmp_path / "cache"),
            "OPENAI_BASE_URL": server.base_url,
        }
        env.pop("OPENAI_API_BASE", None)
        done = subprocess.run(
            [
                *(sys.executable, "-X", "importtime", "-m", "agentkit"),
                *("eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "3", "--no-cache"),
                *("--model", "openai/fake", "--isolation", "trusted", "--json"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
        )
        requests = len(server.requests)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["n"] == 3 and requests == 3
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.count("|") == 2}
    assert "agentkit.llm._plain" in imported and "litellm" not in imported  # direct, as with --api-base
