"""Shared fixtures: a real fake-OpenAI HTTP server on loopback and clients with a private cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.llm import LLMClient, ModelConfig
from agentkit.testing import FakeOpenAIServer, model_config_for

ConfigFactory = Callable[..., ModelConfig]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def _fast_config(server: FakeOpenAIServer, **overrides: Any) -> ModelConfig:
    settings: dict[str, Any] = {"timeout_s": 0.5, "retry_base_s": 0.01, "retry_for_s": 2.0}
    settings.update(overrides)
    return model_config_for(server, **settings)


@pytest.fixture
def fast_config() -> ConfigFactory:
    """`fast_config(server, **overrides)`: a model on a fake server with short timeouts and retry
    waits, so failures stay fast."""
    return _fast_config


@pytest.fixture
def fast(server: FakeOpenAIServer) -> ModelConfig:
    """The fast model on the `server` fixture."""
    return _fast_config(server)


@pytest.fixture
def client(tmp_path: Path) -> LLMClient:
    return LLMClient(cache_dir=tmp_path / "cache")


@pytest.fixture
def uncached() -> LLMClient:
    return LLMClient(cache=False)
