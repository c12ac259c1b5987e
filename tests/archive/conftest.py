"""Fixtures shared by the archive tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.archive import Archive


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """A fresh archive in a temporary run directory."""
    arch = Archive.create(tmp_path / "run", {"task": "gsm8k", "seed": 0})
    yield arch
    arch.close()
