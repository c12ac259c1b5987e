"""Fixtures of the reflect tests: an archive, the fake OpenAI server and a client without cache."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from reflect_helpers import make_examples

from agentkit.archive import Archive
from agentkit.llm import LLMClient, ModelConfig
from agentkit.tasks import Example
from agentkit.testing import FakeOpenAIServer, model_config_for


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    arch = Archive.create(tmp_path / "run", {"task": "toy/double", "seed": 0})
    yield arch
    arch.close()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def model(server: FakeOpenAIServer) -> ModelConfig:
    return model_config_for(server, timeout_s=5.0, max_attempts=1)


@pytest.fixture
async def client() -> AsyncIterator[LLMClient]:
    c = LLMClient(cache=False)
    yield c
    await c.aclose()


@pytest.fixture
def examples() -> list[Example]:
    return make_examples()
