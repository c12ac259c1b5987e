"""Shared by every test directory. This file also puts ``tests/`` on ``sys.path`` (pytest's default
import mode), so test modules anywhere below can ``from required_tools import require_tool``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _endpoints_start_fresh() -> Iterator[None]:
    """Each test starts with no breaker, in-flight limit or JSON-mode verdict learned by an earlier one:
    a fake server gets a free loopback port, which may be the port of an earlier test's server (whose
    breaker that test opened: a four-second pause for this one)."""
    from agentkit.llm._endpoint_memory import forget_endpoints

    forget_endpoints()
    yield
