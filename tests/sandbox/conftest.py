"""Fixtures for the sandbox tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from required_tools import require_tool
from sandbox_helpers import level_for, runtime_dir

from agentkit.sandbox import Sandbox, SandboxConfig


@pytest.fixture(params=["bwrap", "process"])
def isolation(request: pytest.FixtureRequest) -> str:
    """Each test runs once per isolation kind; one that cannot start here is skipped (fails when CI is set)."""
    works = level_for(request.param) is not None
    if request.param == "bwrap":
        require_tool(
            "bwrap (bubblewrap)",
            works,
            "isolation='bwrap' cannot start on this machine (Debian package 'bubblewrap', which `make setup` "
            "installs; it also needs unprivileged user namespaces)",
        )
    else:
        require_tool(
            f"the {request.param!r} sandbox", works, f"isolation={request.param!r} cannot start here"
        )
    return str(request.param)


SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def make_sandbox(isolation: str) -> AsyncIterator[SandboxFactory]:
    """Start sandboxes with small test limits (overridable); all are closed after the test."""
    made: list[Sandbox] = []

    async def make(**overrides: Any) -> Sandbox:
        settings: dict[str, Any] = {
            "isolation": isolation,
            "workers": 2,
            "wall_time_s": 20.0,
            "cpu_time_s": 10.0,
            "memory_mb": 1024,
            "max_output_bytes": 100_000,
            "max_file_bytes": 1_000_000,
        }
        settings.update(overrides)
        sandbox = Sandbox(SandboxConfig(**settings), runtime_dir=runtime_dir())
        made.append(sandbox)
        await sandbox.start()
        return sandbox

    yield make
    for sandbox in made:
        await sandbox.aclose()
