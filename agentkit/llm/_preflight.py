"""Checks a command makes before it runs anything: that each model's provider key is set (`_keys`) and
that a self-hosted endpoint it names accepts connections.

Why the endpoint: a mistyped ``--api-base`` or a server that is not running refuses every request, and
the calls' retries and the circuit breaker would spend the examples' whole time limit (two minutes by
default) before the examples are reported unscored. A refused connection is a configuration error, said
at once; a slow or filtered network is not judged here (the calls' own retries decide).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from agentkit.errors import ConfigError
from agentkit.llm._config import LOCAL_MODEL, ModelConfig
from agentkit.llm._keys import check_keys

CONNECT_TIMEOUT_S = 2.0
"""How long the check waits for a connection before leaving the endpoint to the calls."""


def unreachable(model: ModelConfig, *, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why `model`'s own endpoint cannot be reached ("connection refused", "host ... not found"), or
    None when it accepts a connection, the model has no endpoint of its own, or it cannot be told."""
    from agentkit.llm._endpoints import api_base_of

    base = api_base_of(model)
    if model.model == LOCAL_MODEL or not base:
        return None
    url = urlsplit(base)
    if url.scheme not in ("http", "https") or not url.hostname:
        return None
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return f"the port in {base!r} is not a number"
    try:
        socket.create_connection((url.hostname, port), timeout=timeout_s).close()
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return f"host {url.hostname!r} not found"
    except OSError:
        return None
    return None


def check_endpoints(models: Sequence[ModelConfig]) -> None:
    """Raise ConfigError naming the model and its endpoint when one of `models` names an endpoint that
    refuses connections (each endpoint is tried once)."""
    from agentkit.llm._endpoints import api_base_of

    seen: set[tuple[str, str | None]] = set()
    for model in models:
        key = (model.model, api_base_of(model))
        if key in seen:
            continue
        seen.add(key)
        problem = unreachable(model)
        if problem is not None:
            raise ConfigError(
                f"{model.model}: cannot connect to {key[1]} ({problem}); is the server running? "
                "Its address comes from --api-base (or OPENAI_BASE_URL)."
            )


def check_models(models: Sequence[ModelConfig]) -> None:
    """Everything `models` need before a command runs: provider keys (`check_keys`) and endpoints that
    accept connections (`check_endpoints`). Raises ConfigError with one message saying what to fix.

    Example:
        >>> check_models([resolve_model("openai/fake", api_base="http://127.0.0.1:1/v1")])  # doctest: +SKIP
        ConfigError: openai/fake: cannot connect to http://127.0.0.1:1/v1 (connection refused); ...
    """
    check_keys(models)
    check_endpoints(models)
