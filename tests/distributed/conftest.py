"""One real Ray for the tests of this folder: two logical nodes of one CPU each (`ray.cluster_utils.Cluster`)
on this machine, and fake OpenAI servers on loopback that answer the generated arithmetic tasks."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from required_tools import require_tool

from agentkit.testing import FakeOpenAIServer

_EXPR = re.compile(r"Compute the value of this expression: ([-\d\s()+*]+)")


def odd_is_wrong(request: dict[str, Any]) -> str | None:
    """Answers gen/arithmetic questions, wrongly (off by one) when the right value is odd: a fixed mix of
    right and wrong answers that depends on the question only."""
    text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    match = _EXPR.search(text)
    if match is None:
        return None
    value = eval(match.group(1).strip(), {"__builtins__": {}})  # our own generated digits and operators
    if value % 2:
        value += 1
    return json.dumps({"thinking": "worked it out", "answer": str(value)})


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[str]:
    """A Ray cluster with two logical nodes, joined by this process; yields its address. Started once for
    the tests of this folder and stopped after them (not left running through the rest of the suite)."""
    require_tool(
        "ray",
        importlib.util.find_spec("ray") is not None,
        "the distributed tests: pip install 'agentkit[ray]'",
    )
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(odd_is_wrong, latency_s=0.02) as fake:
        yield fake
