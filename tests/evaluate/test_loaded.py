"""`load_agent` used the way apps use it: from a plain script, sometimes without closing it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentkit.errors import ConfigError
from agentkit.testing import FakeOpenAIServer, model_config_for

SCRIPT = """
import sys
import agentkit
from agentkit.llm import ModelConfig

model = ModelConfig(model="openai/fake", api_base=sys.argv[1], api_key="x")
agent = agentkit.load_agent("cot", model=model, trusted=sys.argv[2] == "trusted", task="gen/arithmetic")
print(agent("Compute the value of this expression: 2 * (3 + 4)").answer, flush=True)
# No close(): the script just ends, as many do.
"""


@pytest.mark.parametrize("mode", ["trusted", pytest.param("sandbox", marks=pytest.mark.sandbox)])
def test_a_script_that_never_closes_its_agent_still_exits(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path, mode: str
) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = os.environ | {"AGENTKIT_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(
        [sys.executable, str(script), arithmetic_server.base_url, mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,  # before the fix the interpreter hung at exit for ever
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "14"


def test_asking_a_closed_agent_raises_instead_of_hanging(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path, monkeypatch
) -> None:
    import agentkit

    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    agent = agentkit.load_agent("cot", model=model_config_for(arithmetic_server), trusted=True)
    assert agent("Compute the value of this expression: 1 + 2").answer == "3"
    agent.close()
    agent.close()  # idempotent
    assert agent.closed
    with pytest.raises(ConfigError, match="closed"):
        agent("Compute the value of this expression: 1 + 2")


@pytest.mark.parametrize("mode", ["trusted", pytest.param("sandbox", marks=pytest.mark.sandbox)])
def test_closing_an_agent_while_it_answers_tells_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A question asked from one thread while another closes the agent used to wait forever (trusted:
    its loop was stopped under it) or came back as a dead sandbox worker."""
    import threading

    import agentkit

    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    with FakeOpenAIServer(latency_s=5.0) as server:
        agent = agentkit.load_agent("cot", model=model_config_for(server), trusted=mode == "trusted")
        outcome: list[object] = []

        def ask() -> None:
            try:
                outcome.append(agent("What is 1 + 2?"))
            except Exception as exc:
                outcome.append(exc)

        asker = threading.Thread(target=ask)
        asker.start()
        while server.in_flight == 0 and asker.is_alive():  # the question has reached the model
            threading.Event().wait(0.02)
        agent.close()
        asker.join(timeout=30)
        assert not asker.is_alive(), "the question never came back"
    assert len(outcome) == 1 and isinstance(outcome[0], ConfigError), outcome
    assert "was closed while it answered" in str(outcome[0])


CATCHER = "def forward(self, taskInfo):\n    try:\n        return ask('hi')\n    except Exception as e:\n        return 'caught: ' + type(e).__name__\n"


@pytest.mark.parametrize("mode", ["trusted", pytest.param("sandbox", marks=pytest.mark.sandbox)])
def test_a_provider_failure_the_agent_caught_is_not_an_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """As in an evaluation: the answer an agent makes after its model call failed for the provider is
    not the agent's answer (it came back as 'caught: LLMCallError' with no error)."""
    import agentkit
    from agentkit.errors import ProviderAuthError
    from agentkit.testing import Fault

    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "catcher.py"
    path.write_text(CATCHER)
    with FakeOpenAIServer() as server:
        model = model_config_for(server, retry_for_s=0.5, retry_base_s=0.05, breaker_failures=None)
        with agentkit.load_agent(path, model=model, trusted=mode == "trusted", cache=False) as agent:
            assert agent("q").error is None  # the server answers: a plain answer
            server.set_down(Fault.status(503))
            failed = agent("q")
            assert failed.answer is None
            assert (
                failed.error is not None and failed.error.kind == "provider" and "503" in failed.error.message
            )
            server.set_up()
            server.inject(Fault.status(401))
            with pytest.raises(ProviderAuthError):
                agent("q")
