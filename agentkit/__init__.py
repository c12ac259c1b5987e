"""agentkit: discover, evaluate and ship LLM agents.

The public API is re-exported here and loaded lazily, so ``import agentkit`` (and the CLI's ``--help``)
stays cheap: litellm, datasets and numpy are only imported when something needs them.

Example:
    >>> import agentkit
    >>> agent = agentkit.load_agent("cot", model="local")  # doctest: +SKIP
    >>> agent("What is 6 * 7?").answer  # doctest: +SKIP
    '42'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentkit._version import __version__
from agentkit.errors import (
    AgentCodeError,
    AgentkitError,
    ArchiveError,
    BudgetExceeded,
    ConfigError,
    DatasetFormatError,
    DatasetNotFound,
    LLMError,
    LocalModelUnavailable,
    ProviderAuthError,
    ProviderError,
    SandboxError,
    SearchError,
    StructuredOutputError,
    TaskError,
)

# name -> module that defines it; resolved on first attribute access.
_LAZY: dict[str, str] = {
    "LLMClient": "agentkit.llm",
    "ModelConfig": "agentkit.llm",
    "Budget": "agentkit.llm",
    "Completion": "agentkit.llm",
    "Task": "agentkit.tasks",
    "Example": "agentkit.tasks",
    "load_task": "agentkit.tasks",
    "load_agent": "agentkit.evaluate",
    "evaluate_agent": "agentkit.evaluate",
    "LoadedAgent": "agentkit.evaluate",
    "AgentAnswer": "agentkit.evaluate",
    "EvalResult": "agentkit.evaluate",
    "Sandbox": "agentkit.sandbox",
    "SandboxConfig": "agentkit.sandbox",
    "Archive": "agentkit.archive",
    "SearchConfig": "agentkit.search",
    "run_search": "agentkit._api",  # the full method (search + reflect), as the CLI runs it
    "split_task": "agentkit.tasks",
    "bootstrap_ci": "agentkit.tasks",
    "score_interval": "agentkit.tasks",
    "paired_compare": "agentkit.tasks",
}

__all__ = [
    "AgentAnswer",
    "AgentCodeError",
    "AgentkitError",
    "Archive",
    "ArchiveError",
    "Budget",
    "BudgetExceeded",
    "Completion",
    "ConfigError",
    "DatasetFormatError",
    "DatasetNotFound",
    "EvalResult",
    "Example",
    "LLMClient",
    "LLMError",
    "LoadedAgent",
    "LocalModelUnavailable",
    "ModelConfig",
    "ProviderAuthError",
    "ProviderError",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SearchConfig",
    "SearchError",
    "StructuredOutputError",
    "Task",
    "TaskError",
    "__version__",
    "bootstrap_ci",
    "evaluate_agent",
    "load_agent",
    "load_task",
    "paired_compare",
    "run_search",
    "score_interval",
    "split_task",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from agentkit._api import run_search
    from agentkit.archive import Archive
    from agentkit.evaluate import AgentAnswer, EvalResult, LoadedAgent, evaluate_agent, load_agent
    from agentkit.llm import Budget, Completion, LLMClient, ModelConfig
    from agentkit.sandbox import Sandbox, SandboxConfig
    from agentkit.search import SearchConfig
    from agentkit.tasks import (
        Example,
        Task,
        bootstrap_ci,
        load_task,
        paired_compare,
        score_interval,
        split_task,
    )
