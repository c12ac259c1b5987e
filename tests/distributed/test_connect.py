"""Which Ray `--executor ray` uses: the address given, else RAY_ADDRESS, else a Ray of its own (never,
silently, a cluster some other program left running on the machine)."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.distributed import _ray


class RecordingRayDouble:
    """Test double for the `ray` module: records how `init` was called."""

    def __init__(self, initialized: bool = False) -> None:
        self.initialized = initialized
        self.calls: list[dict[str, Any]] = []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.fixture
def ray_double(monkeypatch) -> RecordingRayDouble:
    double = RecordingRayDouble()
    monkeypatch.setattr(_ray, "require_ray", lambda: double)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return double


def test_no_address_starts_a_ray_of_its_own(ray_double: RecordingRayDouble) -> None:
    assert _ray.connect(None) is True
    assert [call["address"] for call in ray_double.calls] == ["local"]


def test_ray_address_variable_then_option(ray_double: RecordingRayDouble, monkeypatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    _ray.connect(None)
    _ray.connect("ray://head:10001")
    assert [call["address"] for call in ray_double.calls] == ["auto", "ray://head:10001"]


def test_a_ray_the_program_started_is_used_as_it_is(ray_double: RecordingRayDouble) -> None:
    ray_double.initialized = True
    assert _ray.connect("ray://head:10001") is False
    assert ray_double.calls == []
