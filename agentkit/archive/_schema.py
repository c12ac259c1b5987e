"""The archive's tables, and the versioned steps that build or upgrade them.

Enumerated columns (status, origin, rule type) are checked by the pydantic models rather than SQL CHECK
constraints: adding a value later then needs no table rebuild.
"""

from __future__ import annotations

import sqlite3

from agentkit.archive._db import utc_now
from agentkit.errors import ArchiveError

_V1: list[str] = [
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        applied_at TEXT NOT NULL
    )""",
    """CREATE TABLE run_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        config TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE run_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE agents (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        thought TEXT NOT NULL,
        code TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        generation INTEGER NOT NULL,
        origin TEXT NOT NULL,
        status TEXT NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX agents_by_hash ON agents (code_hash)",
    "CREATE INDEX agents_by_name ON agents (name)",
    """CREATE TABLE lineage (
        child_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        parent_id TEXT NOT NULL REFERENCES agents (id),
        PRIMARY KEY (child_id, position)
    )""",
    "CREATE INDEX lineage_by_parent ON lineage (parent_id)",
    """CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        split TEXT NOT NULL,
        example_id TEXT NOT NULL,
        score REAL NOT NULL,
        answer TEXT,
        error_kind TEXT,
        error_message TEXT,
        error_traceback TEXT,
        llm_calls INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost_usd REAL,
        latency_s REAL NOT NULL,
        trace TEXT NOT NULL,
        extra TEXT,
        recorded_at TEXT NOT NULL,
        UNIQUE (agent_id, split, example_id)
    )""",
    "CREATE INDEX results_by_split ON results (split, agent_id)",
    """CREATE TABLE summaries (
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        split TEXT NOT NULL,
        n INTEGER NOT NULL,
        acc_mean REAL NOT NULL,
        acc_low REAL NOT NULL,
        acc_high REAL NOT NULL,
        cost_usd REAL,
        summary TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, split)
    )""",
    "CREATE INDEX summaries_by_split ON summaries (split, acc_low)",
    """CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        round INTEGER NOT NULL,
        kind TEXT NOT NULL,
        prompt_excerpt TEXT NOT NULL,
        reply TEXT NOT NULL,
        error_shown TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX reviews_by_agent ON reviews (agent_id, id)",
    """CREATE TABLE reflections (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        generation INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX reflections_by_agent ON reflections (agent_id, id)",
    "CREATE INDEX reflections_by_generation ON reflections (generation, id)",
    """CREATE TABLE rules (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        scope TEXT NOT NULL,
        text TEXT NOT NULL,
        example TEXT NOT NULL,
        status TEXT NOT NULL,
        created_gen INTEGER NOT NULL,
        last_confirmed_gen INTEGER NOT NULL,
        evidence TEXT NOT NULL,
        shown_count INTEGER NOT NULL DEFAULT 0,
        hidden_count INTEGER NOT NULL DEFAULT 0,
        shown_score_sum REAL NOT NULL DEFAULT 0,
        hidden_score_sum REAL NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE rule_events (
        id INTEGER PRIMARY KEY,
        rule_id TEXT NOT NULL REFERENCES rules (id),
        generation INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        ts TEXT NOT NULL
    )""",
    "CREATE INDEX rule_events_by_rule ON rule_events (rule_id, id)",
    # The history of the manual is evidence in itself; nothing may rewrite it.
    """CREATE TRIGGER rule_events_no_update BEFORE UPDATE ON rule_events
       BEGIN SELECT RAISE(ABORT, 'rule_events is append-only'); END""",
    """CREATE TRIGGER rule_events_no_delete BEFORE DELETE ON rule_events
       BEGIN SELECT RAISE(ABORT, 'rule_events is append-only'); END""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        generation INTEGER,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX events_by_kind ON events (kind, id)",
    "CREATE INDEX events_by_generation ON events (generation, id)",
    """CREATE TABLE usage (
        generation INTEGER NOT NULL,
        role TEXT NOT NULL,
        model TEXT NOT NULL,
        calls INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost_usd REAL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (generation, role, model)
    )""",
]

# Version 2: a rule carried over from another run's manual (`--manual-from`) says where it came from
# (JSON of `RuleOrigin`; NULL for the run's own rules).
_V2: list[str] = ["ALTER TABLE rules ADD COLUMN imported_from TEXT"]

# MIGRATIONS[v] builds version v from version v - 1 (version 1 from an empty database).
MIGRATIONS: dict[int, list[str]] = {1: _V1, 2: _V2}
SCHEMA_VERSION = max(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int | None:
    """The schema version stored in the database, None when it has no schema_version table."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if has_table is None:
        return None
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return None if row[0] is None else int(row[0])


def upgrade(conn: sqlite3.Connection, from_version: int) -> None:
    """Apply every migration after `from_version`; the caller holds the write transaction."""
    if from_version > SCHEMA_VERSION:
        raise ArchiveError(
            f"archive schema version {from_version} is newer than this agentkit supports ({SCHEMA_VERSION});"
            " upgrade agentkit to open it"
        )
    for version in range(from_version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, utc_now()))
