"""ModelConfig and resolve_model; the package imports cheaply."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentkit.errors import ConfigError
from agentkit.llm import ModelConfig, resolve_model
from agentkit.llm._config import _DEFAULTS_BY_KEY

_KEYS = [key for key, _ in _DEFAULTS_BY_KEY]


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in _KEYS:
        monkeypatch.delenv(key, raising=False)


def test_none_is_local_without_keys(no_keys: None) -> None:
    assert resolve_model(None).model == "local"
    assert resolve_model("local").model == "local"


def test_none_picks_a_cheap_model_for_a_key(no_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert resolve_model(None).model == "openai/gpt-4o-mini"
    assert resolve_model("local").model == "local"
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    assert resolve_model(None).model.startswith("anthropic/")


def test_defaults_have_known_prices() -> None:
    from agentkit.llm._litellm import price_of

    for _, model in _DEFAULTS_BY_KEY:
        assert price_of(model) is not None, model


def test_overrides_and_errors() -> None:
    config = resolve_model("openai/gpt-4o-mini", temperature=0.0, max_concurrency=2)
    assert (config.temperature, config.max_concurrency) == (0.0, 2)
    with pytest.raises(ConfigError):
        resolve_model("openai/x", no_such_field=1)
    with pytest.raises(ConfigError):
        resolve_model("  ")
    with pytest.raises(ConfigError):
        resolve_model("openai/x", max_attempts=0)


def test_api_key_never_shows() -> None:
    config = ModelConfig(model="openai/x", api_key="sk-secret")
    assert "sk-secret" not in repr(config) and "sk-secret" not in str(config)
    assert "api_key" not in config.model_dump() and "sk-secret" not in config.model_dump_json()
    assert config.api_key == "sk-secret"


def test_import_is_cheap() -> None:
    code = "import sys, agentkit.llm; print(sorted(m for m in ('litellm', 'openai', 'httpx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
