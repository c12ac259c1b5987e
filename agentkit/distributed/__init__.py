"""Past one machine: evaluations on a Ray cluster (``--executor ray``).

Ray is an optional extra (``pip install 'agentkit[ray]'``), imported only when this executor is used.

Public names:
    RayExecutor: spreads an evaluation's examples over evaluation actors (each a sandbox plus an LLM
        client) and keeps the cluster's one budget (`BudgetLedger`) and one reply cache (`CacheService`)
    EvalActor, BudgetLedger, RayBudgetGate, CacheService, RemoteReplyStore: the parts, as Ray runs them
    connect, forwarded_env, require_ray: reaching Ray (``--ray-address``, ``RAY_ADDRESS``, or a local one)
"""

from __future__ import annotations

from agentkit.distributed._actor import EvalActor
from agentkit.distributed._budget import BudgetLedger, RayBudgetGate
from agentkit.distributed._cache import CacheService, RemoteReplyStore
from agentkit.distributed._executor import RayExecutor
from agentkit.distributed._ray import INSTALL_HINT, connect, forwarded_env, require_ray

__all__ = [
    "INSTALL_HINT",
    "BudgetLedger",
    "CacheService",
    "EvalActor",
    "RayBudgetGate",
    "RayExecutor",
    "RemoteReplyStore",
    "connect",
    "forwarded_env",
    "require_ray",
]
