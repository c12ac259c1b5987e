"""The connection under an archive: pragmas, transactions (nested as savepoints) and error translation."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentkit.errors import ArchiveError


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string, the form every timestamp column holds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dump_json(value: Any, *, what: str) -> str:
    """Serialise `value` for a JSON column; pydantic models are dumped in JSON mode first."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ArchiveError(f"{what} is not JSON-serialisable: {exc}") from exc


def as_payload(value: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    """A payload argument as a plain dict (None is an empty one)."""
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


def allocate_id(
    conn: sqlite3.Connection, table: str, *, prefix: str, width: int, given: str | None, what: str
) -> tuple[int, str]:
    """The next `seq` of `table` and the row's id: `given` (refused when taken), or `prefix` plus the
    zero-padded seq, moved past any id a caller chose by hand."""
    seq = int(conn.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}").fetchone()[0])
    taken = f"SELECT 1 FROM {table} WHERE id = ?"
    if given is not None:
        if conn.execute(taken, (given,)).fetchone():
            raise ArchiveError(f"{what} with id {given!r} already exists")
        return seq, given
    while True:
        candidate = f"{prefix}{seq:0{width}d}"
        if not conn.execute(taken, (candidate,)).fetchone():
            return seq, candidate
        seq += 1


DAMAGE_ADVICE = (
    "restore the run directory from a copy, or start a new run (`sqlite3 archive.sqlite .recover` may "
    "save what is left)"
)
"""What to do about a damaged archive database, in every message that finds one."""


def is_damage(exc: BaseException | None) -> bool:
    """Whether SQLite's error says the database file itself is damaged (not locked, not full)."""
    return isinstance(exc, sqlite3.DatabaseError) and (
        "malformed" in str(exc) or "not a database" in str(exc)
    )


class Database:
    """One SQLite connection shared by the threads of one process.

    Writes go through `write()`: the outermost level is a `BEGIN IMMEDIATE` transaction (so a second process
    waits on the busy timeout instead of failing half-way), inner levels are savepoints, so a failed inner
    write leaves nothing behind even if the caller catches the error and goes on. `on_commit` runs after the
    outermost commit, which is where derived files are written.
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float,
        on_commit: Callable[[], None] | None = None,
        on_rollback: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._on_commit = on_commit
        self._on_rollback = on_rollback
        self._lock = threading.RLock()
        self._depth = 0
        self._reading = False
        try:
            conn = sqlite3.connect(
                str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open archive database {path}: {exc}") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ArchiveError(f"{path}: cannot switch the database to WAL mode (got {mode!r})")
            # FULL: a committed transaction survives a power cut too, not only a killed process;
            # commits are rare next to model calls, so the fsync is cheap.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            conn.close()
            self._conn = None
            raise ArchiveError(f"{path} is not a readable archive database: {exc}") from exc
        except BaseException:
            conn.close()
            self._conn = None
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        """The live connection; ArchiveError once closed."""
        if self._conn is None:
            raise ArchiveError(f"archive {self.path} is closed")
        return self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outer one as savepoints."""
        with self._lock:
            conn = self.conn
            if self._reading:
                raise ArchiveError("internal error: a write was attempted inside a read snapshot")
            if self._depth:
                yield from self._savepoint(conn)
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise self._translate(exc) from exc
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if self._on_rollback is not None:
                    self._on_rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._translate(exc) from exc
                raise
            finally:
                self._depth = 0
            if self._on_commit is not None:
                self._on_commit()

    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        name = f"sp{self._depth}"
        conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield conn
        except BaseException as exc:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc) from exc
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for a read made of several queries (joins a surrounding write)."""
        with self._lock:
            conn = self.conn
            if self._depth:
                yield conn
                return
            try:
                conn.execute("BEGIN")
            except sqlite3.DatabaseError as exc:
                raise self._translate(exc) from exc
            self._depth, self._reading = 1, True
            try:
                yield conn
            except sqlite3.DatabaseError as exc:  # a damaged file: say which, not a traceback
                raise self._translate(exc) from exc
            finally:
                self._depth, self._reading = 0, False
                with suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    def _translate(self, exc: sqlite3.Error) -> ArchiveError:
        if isinstance(exc, sqlite3.IntegrityError):
            return ArchiveError(f"archive constraint failed: {exc}")
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return ArchiveError(
                f"archive {self.path} stayed locked by another writer for over {self._busy_timeout_s:g} s"
            )
        if is_damage(exc):
            return ArchiveError(f"archive {self.path} is damaged ({exc}): {DAMAGE_ADVICE}")
        return ArchiveError(f"archive {self.path}: {exc}")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
