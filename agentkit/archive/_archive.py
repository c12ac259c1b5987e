"""`Archive`: one run directory, its SQLite database and the agents' `.py` files."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from agentkit.archive._agents import AgentStore
from agentkit.archive._db import DAMAGE_ADVICE, Database, as_payload, dump_json, is_damage, utc_now
from agentkit.archive._feedback import FeedbackStore, _filters
from agentkit.archive._files import agent_file_name, agent_id_of_file, render_agent_file, write_atomic
from agentkit.archive._lock import LockHolder, RunLock, lock_holder
from agentkit.archive._models import AgentRecord, EventRecord, RunInfo, UsageRecord, UsageTotals
from agentkit.archive._schema import SCHEMA_VERSION, current_version, upgrade
from agentkit.errors import ArchiveError

log = logging.getLogger(__name__)

DB_NAME = "archive.sqlite"
AGENTS_DIR = "agents"


class Archive(AgentStore, FeedbackStore):
    """The archive of one search run: `<run_dir>/archive.sqlite` plus `<run_dir>/agents/*.py`.

    Every write method is one transaction. Group several writes (e.g. results, summary, status and the
    checkpoint that describes them) with `with archive.transaction(): ...` so they commit together or not
    at all. Agent files are written after the commit and can always be rebuilt from the database.

    Build with `Archive.create(run_dir, config)` or `Archive.open(run_dir)`; usable as a context manager.
    One instance may be shared by the threads of a process.

    One run, one writer: a process that drives the run (a search, `--resume`, an import, an evaluation
    into the run) opens it with ``lock=True``, which takes the run directory's exclusive lock (see
    `RunLock`) before anything is written and holds it until `close()` or the process's death; a second
    writer gets `RunLocked` naming the holder. Readers open without the lock and can ask `held_by()`
    whether a writer is at work. (SQLite keeps the database consistent either way; the lock keeps the
    run the run its configuration describes.)
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        busy_timeout_s: float,
        config: Mapping[str, Any] | None,
        run_lock: RunLock | None = None,
        db_name: str = DB_NAME,
        check: bool = False,
    ) -> None:
        """Use `Archive.create` or `Archive.open` instead."""
        self.run_dir = run_dir
        self.run_lock = run_lock
        """The writer lock this archive holds (taken with ``lock=True``), else None."""
        self.db_path = run_dir / db_name
        self.agents_dir = run_dir / AGENTS_DIR
        self._dirty: set[str] = set()
        self._db = Database(
            self.db_path,
            busy_timeout_s=busy_timeout_s,
            on_commit=self._flush_files,
            on_rollback=self._dirty.clear,
        )
        try:
            if check:
                self._refuse_damaged()
            self._init_schema(config)
        except BaseException:
            self._db.close()
            raise

    @staticmethod
    def _take_lock(run_dir: Path, lock: bool) -> RunLock | None:
        return RunLock.acquire(run_dir) if lock else None

    def _init_schema(self, config: Mapping[str, Any] | None) -> None:
        try:
            with self._db.read() as conn:
                version = current_version(conn)
        except ArchiveError:
            raise
        except Exception as exc:  # sqlite3.DatabaseError on a damaged file
            raise ArchiveError(f"{self.db_path} is not a readable archive database: {exc}") from exc
        if version == SCHEMA_VERSION and config is None:
            return
        if version is None and config is None:
            raise ArchiveError(f"{self.db_path} is an SQLite file but not an agentkit archive")
        with self._db.write() as conn:
            version = current_version(conn) or 0  # another process may have upgraded meanwhile
            upgrade(conn, version)
            if config is not None:
                now = utc_now()
                conn.execute(
                    "INSERT INTO run_config (id, config, created_at, updated_at) VALUES (1, ?, ?, ?)",
                    (dump_json(dict(config), what="run config"), now, now),
                )

    # --- lifecycle ---------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        run_dir: str | Path,
        config: Mapping[str, Any] | None = None,
        *,
        lock: bool = False,
        busy_timeout_s: float = 30.0,
    ) -> Archive:
        """Create a new archive in `run_dir` (made if missing) storing `config` (any JSON-able dict: models,
        task, split sizes, seeds, budget, package versions, git revision). ArchiveError if one exists.

        With `lock`, the run's writer lock is taken before the database is made and held until `close()`
        (RunLocked when another process holds it)."""
        run_dir = Path(run_dir)
        if (run_dir / DB_NAME).exists():
            raise _already_holds(run_dir)
        try:
            (run_dir / AGENTS_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create run directory {run_dir}: {exc}") from exc
        run_lock = cls._take_lock(run_dir, lock)
        try:
            if lock and (run_dir / DB_NAME).exists():  # made by a writer that finished meanwhile
                raise _already_holds(run_dir)
            cls._build(run_dir, dict(config or {}), busy_timeout_s)
            return cls(run_dir, busy_timeout_s=busy_timeout_s, config=None, run_lock=run_lock)
        except BaseException:
            if run_lock is not None:
                run_lock.release()
            raise

    @classmethod
    def _build(cls, run_dir: Path, config: dict[str, Any], busy_timeout_s: float) -> None:
        """Make the database under a temporary name and move it into place once complete: a process
        killed while creating a run must not leave a half-made archive, which neither a resume (not an
        archive) nor the same command again (already holds one) could get past."""
        final = run_dir / DB_NAME
        _remove_stale_builds(run_dir)
        for stale in (f"{DB_NAME}-wal", f"{DB_NAME}-shm"):  # of a database removed by hand: not ours
            (run_dir / stale).unlink(missing_ok=True)
        temp = f".{DB_NAME}.{os.getpid()}.new"
        for leftover in (temp, f"{temp}-wal", f"{temp}-shm"):  # this process's own, cut short before
            (run_dir / leftover).unlink(missing_ok=True)
        built = cls(run_dir, busy_timeout_s=busy_timeout_s, config=config, db_name=temp)
        try:
            built._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file
        finally:
            built.close()
        try:
            # A hard link fails where the name exists: two creators (without the lock) cannot replace
            # each other's archive.
            os.link(run_dir / temp, final)
        except FileExistsError:
            raise _already_holds(run_dir) from None
        except OSError:  # a file system without hard links
            if final.exists():
                raise _already_holds(run_dir) from None
            os.replace(run_dir / temp, final)
        for leftover in (temp, f"{temp}-wal", f"{temp}-shm"):
            (run_dir / leftover).unlink(missing_ok=True)

    @classmethod
    def open(
        cls,
        run_dir: str | Path,
        *,
        lock: bool = False,
        busy_timeout_s: float = 30.0,
        repair_files: bool = True,
    ) -> Archive:
        """Open an existing archive (`run_dir`, or the `archive.sqlite` inside it). With `repair_files`,
        agent files missing after a crash are written again. ArchiveError if missing, corrupt or newer.

        With `lock`, the run's writer lock is taken before anything is written (RunLocked when another
        process holds it) and held until `close()`; without it the archive is opened as a reader, which
        works while another process writes (pass ``repair_files=False`` to write nothing at all)."""
        run_dir = Path(run_dir)
        if run_dir.name == DB_NAME and run_dir.is_file():
            run_dir = run_dir.parent
        if not run_dir.exists():
            raise ArchiveError(f"run directory {run_dir} does not exist")
        if not run_dir.is_dir():
            raise ArchiveError(f"{run_dir} is not a run directory")
        if not (run_dir / DB_NAME).is_file():
            raise ArchiveError(f"{run_dir} holds no archive ({DB_NAME} is missing)")
        if (run_dir / DB_NAME).stat().st_size == 0:
            # SQLite would take an empty file for a new database and write into it; a reader must not.
            raise ArchiveError(f"{run_dir / DB_NAME} is empty (0 bytes): there is no archive in it")
        run_lock = cls._take_lock(run_dir, lock)
        try:
            # A writer checks the file before it writes a byte (a schema upgrade included): writing into
            # a damaged database (a resume did) buries what could still be read out of it.
            archive = cls(run_dir, busy_timeout_s=busy_timeout_s, config=None, run_lock=run_lock, check=lock)
        except BaseException:
            if run_lock is not None:
                run_lock.release()
            raise
        if repair_files:
            archive._write_missing_files()
        return archive

    @staticmethod
    def exists(run_dir: str | Path) -> bool:
        """True when `run_dir` holds an archive database."""
        return (Path(run_dir) / DB_NAME).is_file()

    def close(self) -> None:
        """Close the database and release the writer lock, if held (idempotent)."""
        try:
            self._db.close()
        finally:
            if self.run_lock is not None:
                self.run_lock.release()

    def held_by(self) -> LockHolder | None:
        """Who holds this run's writer lock right now (another process, or this archive when opened with
        ``lock=True``), or None when no writer is at work: for read-only views to say that the run is
        in progress."""
        return lock_holder(self.run_dir)

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Archive({str(self.run_dir)!r})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes so that they commit together or not at all (nested groups are savepoints)."""
        with self._db.write():
            yield

    def _refuse_damaged(self) -> None:
        """ArchiveError, naming the file, when SQLite's quick check finds it damaged."""
        try:
            with self._db.read() as conn:
                problems = [r[0] for r in conn.execute("PRAGMA quick_check") if r[0] != "ok"]
        except ArchiveError as exc:  # too damaged for the check itself to finish (else: not damage)
            if not is_damage(exc.__cause__):
                raise
            problems = [str(exc.__cause__)]
        if problems:
            advice = DAMAGE_ADVICE[0].upper() + DAMAGE_ADVICE[1:]
            raise ArchiveError(
                f"{self.db_path} is damaged ({problems[0]}); nothing was written to it. {advice}"
            )

    def integrity_check(self) -> list[str]:
        """Problems SQLite finds in the database (integrity and foreign keys); empty when sound."""
        with self._db.read() as conn:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
            problems += [f"foreign key: {tuple(r)}" for r in conn.execute("PRAGMA foreign_key_check")]
        return problems

    # --- run configuration and checkpoint state ----------------------------------------------------------

    def info(self) -> RunInfo:
        """Where the run lives, its configuration, creation time and schema version."""
        with self._db.read() as conn:
            row = conn.execute("SELECT config, created_at FROM run_config WHERE id = 1").fetchone()
            version = current_version(conn)
        if row is None:
            raise ArchiveError(f"{self.db_path} has no run configuration")
        return RunInfo(
            run_dir=self.run_dir,
            config=json.loads(row["config"]),
            created_at=row["created_at"],
            schema_version=version or 0,
        )

    @property
    def config(self) -> dict[str, Any]:
        """The run configuration as stored."""
        return self.info().config

    def update_config(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `changes` into the stored configuration (top-level keys) and return the result."""
        with self._db.write() as conn:
            row = conn.execute("SELECT config FROM run_config WHERE id = 1").fetchone()
            merged = {**(json.loads(row[0]) if row else {}), **changes}
            conn.execute(
                "UPDATE run_config SET config = ?, updated_at = ? WHERE id = 1",
                (dump_json(merged, what="run config"), utc_now()),
            )
        return merged

    def get_state(self, key: str, default: Any = None) -> Any:
        """A checkpoint value (JSON-decoded), or `default` when unset."""
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM run_state WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_state(self, key: str, value: Any) -> None:
        """Set a checkpoint value (anything JSON-serialisable; tuples come back as lists). Call it inside
        the same `transaction()` as the writes it describes."""
        text = dump_json(value, what=f"state value for {key!r}")
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO run_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, text, utc_now()),
            )

    def state(self) -> dict[str, Any]:
        """Every checkpoint value."""
        with self._db.read() as conn:
            return {r[0]: json.loads(r[1]) for r in conn.execute("SELECT key, value FROM run_state")}

    # --- event log ---------------------------------------------------------------------------------------

    def log_event(
        self,
        kind: str,
        payload: Mapping[str, Any] | BaseModel | None = None,
        *,
        generation: int | None = None,
    ) -> EventRecord:
        """Append an event (`kind` in the caller's vocabulary) to the run's log."""
        data = as_payload(payload)
        now = utc_now()
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO events (ts, generation, kind, payload) VALUES (?, ?, ?, ?)",
                (now, generation, kind, dump_json(data, what="event payload")),
            )
            row_id = cur.lastrowid
        return EventRecord.model_validate(
            {"id": row_id, "ts": now, "generation": generation, "kind": kind, "payload": data}
        )

    def events(
        self, kind: str | None = None, *, generation: int | None = None, after_id: int | None = None
    ) -> list[EventRecord]:
        """Events in write order, optionally of one kind or generation, or only those after `after_id`."""
        clauses, params = _filters(kind=kind, generation=generation)
        if after_id is not None:
            clauses, params = f"{clauses} AND id > ?", (*params, after_id)
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT * FROM events WHERE {clauses} ORDER BY id", params).fetchall()
        return [EventRecord.model_validate({**dict(r), "payload": json.loads(r["payload"])}) for r in rows]

    # --- model usage -------------------------------------------------------------------------------------

    def add_usage(
        self,
        generation: int,
        role: str,
        model: str,
        *,
        calls: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float | None = None,
    ) -> None:
        """Add usage spent in `generation` by `role` on `model`. Amounts add up (increments, not totals),
        so a resumed process, whose client starts from zero, keeps the totals right."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO usage (generation, role, model, calls, prompt_tokens, completion_tokens, cost_usd,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (generation, role, model) DO UPDATE"
                " SET calls = calls + excluded.calls, prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
                " completion_tokens = completion_tokens + excluded.completion_tokens,"
                " cost_usd = CASE WHEN excluded.cost_usd IS NULL THEN cost_usd WHEN cost_usd IS NULL"
                " THEN excluded.cost_usd ELSE cost_usd + excluded.cost_usd END,"
                " updated_at = excluded.updated_at",
                (generation, role, model, calls, prompt_tokens, completion_tokens, cost_usd, utc_now()),
            )

    def usage(self, generation: int | None = None) -> list[UsageRecord]:
        """Usage rows by generation, role and model (optionally of one generation)."""
        clauses, params = _filters(generation=generation)
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT generation, role, model, calls, prompt_tokens, completion_tokens, cost_usd FROM usage"
                f" WHERE {clauses} ORDER BY generation, role, model",
                params,
            ).fetchall()
        return [UsageRecord.model_validate(dict(r)) for r in rows]

    def usage_by_role(self) -> dict[str, UsageTotals]:
        """Usage of the whole run per role (meta, agent, reflection, ...)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT role, SUM(calls) AS calls, SUM(prompt_tokens) AS prompt_tokens,"
                " SUM(completion_tokens) AS completion_tokens, SUM(cost_usd) AS cost_usd,"
                " SUM(CASE WHEN cost_usd IS NULL THEN calls ELSE 0 END) AS unpriced_calls"
                " FROM usage GROUP BY role ORDER BY role"
            ).fetchall()
        return {r["role"]: UsageTotals.model_validate(dict(r)) for r in rows}

    # --- agent files -------------------------------------------------------------------------------------

    def agent_file(self, agent_id: str) -> Path:
        """Path of an agent's `.py` file (it may be missing until written)."""
        agent = self.agent(agent_id)
        return self.agents_dir / agent_file_name(agent.generation, agent.id, agent.name)

    def rewrite_agent_files(self) -> list[Path]:
        """Write every agent's file again from the database and remove files no agent accounts for
        (leftover temporaries, renamed or unknown agents). Returns the files written."""
        agents = self.agents()
        self.agents_dir.mkdir(parents=True, exist_ok=True)
        written = [self._write_agent_file(a) for a in agents]
        keep = {p.name for p in written}
        for entry in os.scandir(self.agents_dir):
            stale_tmp = entry.name.startswith(".") and entry.name.endswith(".tmp")
            if stale_tmp or (agent_id_of_file(entry.name) is not None and entry.name not in keep):
                Path(entry.path).unlink(missing_ok=True)
        return written

    def _agents_changed(self, *agent_ids: str) -> None:
        self._dirty.update(agent_ids)

    def _flush_files(self) -> None:
        ids, self._dirty = self._dirty, set()
        if not ids:
            return
        try:
            with self._db.read() as conn:
                marks = ", ".join("?" * len(ids))
                agents = self._load_agents(conn, f"a.id IN ({marks})", tuple(ids))
            self.agents_dir.mkdir(parents=True, exist_ok=True)
            for agent in agents:
                self._write_agent_file(agent)
        except (OSError, ArchiveError) as exc:
            # The commit stands; the files are derived and `rewrite_agent_files()` rebuilds them.
            log.warning("could not write agent files in %s: %s", self.agents_dir, exc)

    def _write_agent_file(self, agent: AgentRecord) -> Path:
        path = self.agents_dir / agent_file_name(agent.generation, agent.id, agent.name)
        write_atomic(path, render_agent_file(agent))
        for other in self.agents_dir.glob(f"*_{agent.id}_*.py"):
            if other != path and agent_id_of_file(other.name) == agent.id:
                other.unlink(missing_ok=True)  # the agent was renamed
        return path

    def _write_missing_files(self) -> None:
        with self._db.read() as conn:
            rows = conn.execute("SELECT id, name, generation FROM agents").fetchall()
        try:
            present = set(os.listdir(self.agents_dir)) if self.agents_dir.is_dir() else set()
        except OSError:
            present = set()
        missing = {
            r["id"] for r in rows if agent_file_name(r["generation"], r["id"], r["name"]) not in present
        }
        if missing:
            self._dirty.update(missing)
            self._flush_files()


def _remove_stale_builds(run_dir: Path) -> None:
    """Remove what a creation killed before it finished left (`Archive._build`'s temporary files of a
    process that is gone)."""
    for leftover in run_dir.glob(f".{DB_NAME}.*.new*"):
        pid = leftover.name[len(DB_NAME) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: alive
        return True
    return True


def _already_holds(run_dir: Path) -> ArchiveError:
    return ArchiveError(f"{run_dir} already holds an archive; open it (or resume) instead")
