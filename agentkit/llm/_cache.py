"""A content-addressed reply cache in SQLite, safe for several processes at once.

The key is the sha256 of the canonical JSON of everything that decides the reply: model, what serves
it, messages, temperature, max_tokens, JSON mode and the sample index (so repeated samples stay
distinct). "What serves it" (`endpoint`) tells apart models that share a name: the api_base of a
self-hosted server (two vLLM deployments of ``openai/<name>`` give different answers), and the model
file (path, size, mtime) of the embedded ``local`` model, whose loopback port changes every run. A
provider's default endpoint adds nothing, so those keys stay what they were; keys written before the
endpoint was part of them simply stop matching for the others. Never the API key.
SQLite in WAL mode with a busy timeout serialises writers from several processes; a cache that fails
(disk full, locked too long) is logged and skipped, never fatal to the call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("agentkit.llm")

T = TypeVar("T")

CACHE_FILE = "llm_cache.sqlite3"
_KEY_VERSION = 2
_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_dir() -> Path:
    """``$AGENTKIT_CACHE_DIR``, else ``~/.cache/agentkit``."""
    configured = os.environ.get("AGENTKIT_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "agentkit"


def cache_key(
    *,
    model: str,
    messages: list[dict[str, str]],
    temperature: float,
    max_tokens: int | None,
    json_mode: bool,
    sample_index: int,
    json_keys: list[str] | None = None,
    json_schema: dict[str, Any] | None = None,
    endpoint: str | None = None,
) -> str:
    """The sha256 hex digest of the canonical request.

    `endpoint` identifies what serves `model` when the name alone does not (see the module docstring;
    `agentkit.llm._client` builds it); None for a provider's own endpoint.
    """
    request = {
        "v": _KEY_VERSION,
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "response_format": {"type": "json_object"} if json_mode else None,
        "sample_index": sample_index,
        # The keys decide the grammar a server may enforce, so they are part of the request.
        "json_keys": list(json_keys) if json_mode and json_keys else None,
    }
    if json_mode and json_schema:
        # Only when given, so that the keys of every other request stay what they were.
        request["json_schema"] = json_schema
    if endpoint:
        request["endpoint"] = endpoint
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedReply:
    """A stored reply and what it cost when it was first made."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class ReplyCache:
    """The SQLite file `<cache_dir>/llm_cache.sqlite3`, opened on first use."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / CACHE_FILE
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def get(self, key: str) -> CachedReply | None:
        """The stored reply for `key`, or None (also when the cache cannot be read)."""
        try:
            row = self._with_retry(
                lambda conn: conn.execute(
                    "SELECT text, prompt_tokens, completion_tokens FROM completions WHERE key = ?", (key,)
                ).fetchone()
            )
        except (sqlite3.Error, OSError) as exc:
            log.warning("LLM cache %s not readable, treating as a miss: %s", self.path, exc)
            return None
        return None if row is None else CachedReply(row[0], int(row[1]), int(row[2]))

    def put(self, key: str, *, model: str, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Store a reply (first writer wins; identical keys mean interchangeable replies)."""
        row = (key, model, text, prompt_tokens, completion_tokens, time.time())
        try:
            self._with_retry(
                lambda conn: conn.execute("INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?, ?)", row)
            )
        except (sqlite3.Error, OSError) as exc:
            log.warning("LLM cache %s not writable, reply not stored: %s", self.path, exc)

    def _with_retry(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        # The busy timeout covers ordinary lock waits, but SQLite reports some conflicts at once
        # (another process switching the file to WAL, or recovering it), so those are retried here.
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        pause = 0.005
        with self._lock:
            while True:
                try:
                    return operation(self._connection())
                except sqlite3.OperationalError as exc:
                    transient = "locked" in str(exc) or "busy" in str(exc)
                    if not transient or time.monotonic() + pause > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.2)

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
