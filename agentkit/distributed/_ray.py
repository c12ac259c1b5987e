"""Ray itself: imported only here and only when asked for (``--executor ray``), never by ``--help``."""

from __future__ import annotations

import os
import re
from types import ModuleType
from typing import Any

from agentkit.errors import ConfigError

# Variables the actors' LLM clients may need: provider keys and endpoints, agentkit's own settings.
# Forwarded to the actor processes through Ray's runtime environment (never to the sandboxes: the
# sandbox scrubs its children's environment as on one machine).
_FORWARDED = re.compile(
    r"^(?:[A-Z0-9_]+_API_KEY|[A-Z0-9_]+_API_BASE|[A-Z0-9_]+_BASE_URL|AGENTKIT_[A-Z0-9_]+|LITELLM_[A-Z0-9_]+"
    r"|AZURE_[A-Z0-9_]+|AWS_[A-Z0-9_]+|GOOGLE_APPLICATION_CREDENTIALS|VERTEXAI_[A-Z0-9_]+)$"
)

INSTALL_HINT = "pip install 'agentkit[ray]'"


def require_ray() -> ModuleType:
    """The ``ray`` module, or a ConfigError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(f"--executor ray needs Ray: {INSTALL_HINT} ({exc})") from exc
    return ray


def forwarded_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The driver's variables the actors get (keys, endpoints, agentkit and litellm settings)."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if _FORWARDED.match(name)}


def connect(address: str | None) -> bool:
    """Connect to the Ray cluster at `address`, else ``RAY_ADDRESS``, else start a local one. True when
    this call started or joined Ray (the caller then shuts it down); False when the program had already
    initialised Ray itself (tests, notebooks), which is used as it is."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    # "local": a Ray of our own. With no address Ray joins any cluster already running on the machine
    # (found through its temp files), which may be another program's, on another Python; who wants
    # that one says so (--ray-address auto).
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    options: dict[str, Any] = {
        "runtime_env": {"env_vars": forwarded_env()},
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    try:
        ray.init(address=target, **options)
    except ConnectionError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {target}: {exc}") from exc
    return True


def is_actor_lost(exc: BaseException) -> bool:
    """Whether `exc` says the actor (or its node) is gone, so its work must go elsewhere."""
    from ray import exceptions

    lost = (exceptions.RayActorError, exceptions.ActorUnavailableError, exceptions.WorkerCrashedError)
    return isinstance(exc, lost) and not isinstance(exc, exceptions.RayTaskError)
