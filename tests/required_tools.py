"""`require_tool`: the one way a test says it needs something installed (a sandbox tool, the browser, the
embedded model).

Without it the test is skipped, with the reason; but when the environment variable ``CI`` is set the test
FAILS instead, naming what is missing: there `make test` has installed everything, so a skip would be a
failure in disguise. Things that depend on the machine rather than on an install (a kernel without
Landlock, running as root, data that is not shipped) are skipped with plain `pytest.skip`.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """Whether the tests run where everything must be installed (``CI`` set to anything but empty,
    ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_tool(name: str, present: bool, reason: str) -> None:
    """Go on when `present`; otherwise skip the running test ("`name` is missing: `reason`"), or fail it
    with that message when ``CI`` is set. `reason` says what it is needed for and how to install it."""
    if present:
        return
    message = f"{name} is missing: {reason}"
    if in_ci():
        pytest.fail(
            f"CI is set, so a missing install fails the test instead of skipping it: {message}", pytrace=False
        )
    pytest.skip(message)


def require_executable(name: str, reason: str) -> str:
    """The path of the program `name` on PATH; if there is none, as `require_tool`."""
    path = shutil.which(name)
    require_tool(name, path is not None, reason)
    assert path is not None
    return path
