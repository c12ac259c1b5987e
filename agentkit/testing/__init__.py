"""Test and benchmark doubles for model providers.

- `FakeOpenAIServer`: a real OpenAI-compatible HTTP server on 127.0.0.1 with scripted replies,
  latency, jitter and injected faults (`Fault`); `model_config_for(server)` points a client at it.
- `SimulatedModel`: a responder that answers generated arithmetic right with a prompt-dependent
  probability, for the performance benchmarks.
- `ScriptedLLM` / `register_scripted_llm`: an in-process litellm provider ("scripted/<name>") for fast
  unit tests. They import litellm, so they are loaded only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.testing._replies import (
    FakeReply,
    Fault,
    Reply,
    Responder,
    default_responder,
    fake_field_value,
    requested_fields,
)
from agentkit.testing._server import FakeOpenAIServer, model_config_for
from agentkit.testing._simulated import SimulatedModel

if TYPE_CHECKING:
    from agentkit.testing._scripted import ScriptedLLM, register_scripted_llm

__all__ = [
    "FakeOpenAIServer",
    "FakeReply",
    "Fault",
    "Reply",
    "Responder",
    "ScriptedLLM",
    "SimulatedModel",
    "default_responder",
    "fake_field_value",
    "model_config_for",
    "register_scripted_llm",
    "requested_fields",
]

_LAZY = {"ScriptedLLM", "register_scripted_llm"}


def __getattr__(name: str) -> Any:
    # litellm takes seconds to import; only tests that use the scripted provider pay for it.
    if name in _LAZY:
        from agentkit.testing import _scripted

        return getattr(_scripted, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
