"""A search does not run on Ray yet: asked to, it says so before the run directory exists."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentkit.errors import ConfigError
from agentkit.search import SearchConfig, run_search


def test_a_search_with_the_ray_executor_is_refused_before_it_starts(tmp_path: Path) -> None:
    config = SearchConfig(task="gen/arithmetic", executor="ray")
    with pytest.raises(ConfigError, match="runs on this machine only"):
        asyncio.run(run_search(config, tmp_path / "run"))
    assert not (tmp_path / "run").exists()
