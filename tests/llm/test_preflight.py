"""Checks before a command runs: an endpoint that refuses connections is a configuration error at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.errors import ConfigError
from agentkit.llm import ModelConfig, check_endpoints, check_models
from agentkit.llm._preflight import unreachable
from agentkit.testing import FakeOpenAIServer


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_endpoint_is_named_with_its_model() -> None:
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    model = ModelConfig(model="openai/fake", api_base=base, api_key="x")
    assert unreachable(model) == "connection refused"
    with pytest.raises(ConfigError) as info:
        check_models([model])
    assert str(info.value).startswith(f"openai/fake: cannot connect to {base} (connection refused)")
    assert "--api-base" in str(info.value)


def test_endpoints_that_listen_or_are_not_ours_pass() -> None:
    with FakeOpenAIServer() as server:
        check_endpoints([ModelConfig(model="openai/fake", api_base=server.base_url, api_key="x")])
    check_endpoints([ModelConfig(model="local")])  # the embedded model's server is started by us
    check_endpoints([ModelConfig(model="anthropic/claude-3-5-haiku-latest", api_key="x")])  # no endpoint
    odd = ModelConfig(model="openai/fake", api_base="unix:///tmp/socket", api_key="x")
    assert unreachable(odd) is None  # not an http URL: left to the calls
    bad_port = ModelConfig(model="openai/fake", api_base="http://127.0.0.1:port/v1", api_key="x")
    assert unreachable(bad_port) == "the port in 'http://127.0.0.1:port/v1' is not a number"


def test_the_environment_s_base_url_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", base)
    with pytest.raises(ConfigError, match=r"cannot connect to .* \(connection refused\)"):
        check_endpoints([ModelConfig(model="openai/fake", api_key="x")])


@pytest.mark.sandbox
def test_eval_against_a_server_that_is_not_running_stops_at_once(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    started = time.monotonic()
    argv = ["eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", *argv, "--model", "openai/fake", "--api-base", base],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=os.environ | {"AGENTKIT_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": "x"},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: openai/fake: cannot connect to {base} (connection refused)" in done.stderr
    assert done.stdout == ""  # no table: nothing ran
    assert time.monotonic() - started < 60  # not the examples' two-minute limit
