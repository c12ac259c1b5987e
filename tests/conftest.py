"""Shared by every test directory. This file also puts ``tests/`` on ``sys.path`` (pytest's default
import mode), so test modules anywhere below can ``from required_tools import require_tool``."""

from __future__ import annotations
