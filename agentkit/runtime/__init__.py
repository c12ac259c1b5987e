"""What agent code is written against: the ADAS names and agentkit's own small API.

Stdlib only, with relative imports only: the sandbox ships these source files into an isolated worker
that has nothing but the standard library, possibly under another package name. The seed-agent loader
(`load_seed_agents`, host side) is loaded lazily so the worker never needs it.

Agent code sees `RUNTIME_NAMES` as globals: `Info`, `LLMAgentBase` (ADAS), `ask`, `majority_vote`,
`run_python` (our own API) and `LLMCallError`. `run_agent` runs one agent on one question.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._agent import RUNTIME_NAMES, answer_text, run_agent, runtime_namespace
from ._check import AGENT_MODULES, check_agent_code
from ._errors import InvalidAgentCode, LLMCallError
from ._info import Info
from ._session import LLMAgentBase, LLMBackend, Session, ask
from ._tools import RUN_PYTHON_MODULES, majority_vote, run_python

_LAZY = {"SeedAgent": "._seeds", "load_seed_agents": "._seeds", "find_seed_agent": "._seeds"}

__all__ = [
    "AGENT_MODULES",
    "RUNTIME_NAMES",
    "RUN_PYTHON_MODULES",
    "Info",
    "InvalidAgentCode",
    "LLMAgentBase",
    "LLMBackend",
    "LLMCallError",
    "SeedAgent",
    "Session",
    "answer_text",
    "ask",
    "check_agent_code",
    "find_seed_agent",
    "load_seed_agents",
    "majority_vote",
    "run_agent",
    "run_python",
    "runtime_namespace",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ._seeds import SeedAgent, find_seed_agent, load_seed_agents
