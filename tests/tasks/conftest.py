from __future__ import annotations

from pathlib import Path

import pytest

# CI checks the repository out with the shared data beside it: <parent>/main and <parent>/shared/data.
SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never touch the hub: declared offline, no network probe, and no ambient data dir.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AGENTKIT_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (SHARED_DATA / "bbh").is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA
