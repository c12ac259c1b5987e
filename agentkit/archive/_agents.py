"""Agents, lineage and evaluations: the part of the archive the search loop reads and writes most."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from pydantic import TypeAdapter

from agentkit.archive._db import Database, allocate_id, dump_json, utc_now
from agentkit.archive._hash import normalised_code_hash
from agentkit.archive._models import (
    AGENT_ORIGINS,
    AGENT_STATUSES,
    AgentOrigin,
    AgentRecord,
    AgentStatus,
)
from agentkit.errors import ArchiveError
from agentkit.records import AgentFailure, EvalResult, EvalSummary, ExampleResult, LLMCallTrace

_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
_TRACE = TypeAdapter(list[LLMCallTrace])
# ExampleResult fields that have columns of their own; anything newer goes to the `extra` JSON column.
_RESULT_COLUMNS = {
    "example_id",
    "answer",
    "score",
    "error",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
    "trace",
}
_UPSERT_RESULT = """
INSERT INTO results (agent_id, split, example_id, score, answer, error_kind, error_message, error_traceback,
                     llm_calls, prompt_tokens, completion_tokens, cost_usd, latency_s, trace, extra, recorded_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (agent_id, split, example_id) DO UPDATE SET
    score = excluded.score, answer = excluded.answer, error_kind = excluded.error_kind,
    error_message = excluded.error_message, error_traceback = excluded.error_traceback,
    llm_calls = excluded.llm_calls, prompt_tokens = excluded.prompt_tokens,
    completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd,
    latency_s = excluded.latency_s, trace = excluded.trace, extra = excluded.extra,
    recorded_at = excluded.recorded_at
"""


def check_choice(value: str, allowed: Collection[str], what: str) -> None:
    """ArchiveError unless `value` is one of `allowed`."""
    if value not in allowed:
        raise ArchiveError(f"invalid {what} {value!r}; expected one of {', '.join(sorted(allowed))}")


def _result_row(agent_id: str, split: str, r: ExampleResult, now: str) -> tuple[Any, ...]:
    extra = r.model_dump(mode="json", exclude=_RESULT_COLUMNS)
    return (
        agent_id,
        split,
        r.example_id,
        r.score,
        r.answer,
        r.error.kind if r.error else None,
        r.error.message if r.error else None,
        r.error.traceback if r.error else None,
        r.llm_calls,
        r.prompt_tokens,
        r.completion_tokens,
        r.cost_usd,
        r.latency_s,
        _TRACE.dump_json(r.trace).decode(),
        dump_json(extra, what="extra result fields") if extra else None,
        now,
    )


def _result_from_row(row: sqlite3.Row) -> ExampleResult:
    error = None
    if row["error_kind"] is not None:
        error = AgentFailure(
            kind=row["error_kind"], message=row["error_message"] or "", traceback=row["error_traceback"] or ""
        )
    extra = json.loads(row["extra"]) if row["extra"] else {}
    return ExampleResult(
        example_id=row["example_id"],
        answer=row["answer"],
        score=row["score"],
        error=error,
        llm_calls=row["llm_calls"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cost_usd=row["cost_usd"],
        latency_s=row["latency_s"],
        trace=_TRACE.validate_json(row["trace"]),
        **extra,
    )


class AgentStore:
    """Mixin of `Archive`: agents, lineage, per-example results and summaries."""

    _db: Database

    def _agents_changed(self, *agent_ids: str) -> None:
        raise NotImplementedError  # Archive rewrites their files after the commit

    # --- agents ------------------------------------------------------------------------------------------

    def add_agent(
        self,
        name: str,
        code: str,
        *,
        thought: str = "",
        parents: Iterable[str] = (),
        generation: int = 0,
        origin: AgentOrigin = "meta",
        status: AgentStatus = "proposed",
        meta: Mapping[str, Any] | None = None,
        agent_id: str | None = None,
    ) -> AgentRecord:
        """Store a new agent (and its lineage) and return it. The id is sequential (`a0001`, ...) unless
        `agent_id` is given. Its `.py` file is written after the transaction commits."""
        check_choice(origin, AGENT_ORIGINS, "origin")
        check_choice(status, AGENT_STATUSES, "status")
        if agent_id is not None and not _ID_RE.match(agent_id):
            raise ArchiveError(f"invalid agent id {agent_id!r}: use 1 to 32 letters, digits or '-'")
        parent_ids = list(parents)
        now = utc_now()
        with self._db.write() as conn:
            seq, agent_id = allocate_id(conn, "agents", prefix="a", width=4, given=agent_id, what="an agent")
            conn.execute(
                "INSERT INTO agents (seq, id, name, thought, code, code_hash, generation, origin, status, meta,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    agent_id,
                    name,
                    thought,
                    code,
                    normalised_code_hash(code),
                    generation,
                    origin,
                    status,
                    dump_json(dict(meta or {}), what="agent meta"),
                    now,
                    now,
                ),
            )
            for position, parent in enumerate(parent_ids):
                if parent == agent_id:
                    raise ArchiveError(f"agent {agent_id!r} cannot be its own parent")
                self._require_agent(conn, parent, what="parent agent")
                conn.execute(
                    "INSERT INTO lineage (child_id, position, parent_id) VALUES (?, ?, ?)",
                    (agent_id, position, parent),
                )
            self._agents_changed(agent_id)
            return self._load_agents(conn, "a.id = ?", (agent_id,))[0]

    def update_agent(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        thought: str | None = None,
        code: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> AgentRecord:
        """Change an agent's name, thought, code (its hash follows) or meta (merged key by key)."""
        with self._db.write() as conn:
            current = self._load_agents(conn, "a.id = ?", (agent_id,))
            if not current:
                raise ArchiveError(f"no agent with id {agent_id!r}")
            agent = current[0]
            new_code = agent.code if code is None else code
            conn.execute(
                "UPDATE agents SET name = ?, thought = ?, code = ?, code_hash = ?, meta = ?, updated_at = ?"
                " WHERE id = ?",
                (
                    agent.name if name is None else name,
                    agent.thought if thought is None else thought,
                    new_code,
                    normalised_code_hash(new_code),
                    dump_json({**agent.meta, **(meta or {})}, what="agent meta"),
                    utc_now(),
                    agent_id,
                ),
            )
            self._agents_changed(agent_id)
            return self._load_agents(conn, "a.id = ?", (agent_id,))[0]

    def set_status(self, agent_id: str, status: AgentStatus) -> None:
        """Move an agent to another status (proposed, failed, screened, evaluated)."""
        check_choice(status, AGENT_STATUSES, "status")
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE agents SET status = ?, updated_at = ? WHERE id = ?", (status, utc_now(), agent_id)
            )
            if cur.rowcount == 0:
                raise ArchiveError(f"no agent with id {agent_id!r}")
            self._agents_changed(agent_id)

    def agent(self, id_or_name: str) -> AgentRecord:
        """One agent by id, or by name when no id matches; ArchiveError when none or several match."""
        with self._db.read() as conn:
            found = self._load_agents(conn, "a.id = ?", (id_or_name,))
            if not found:
                found = self._load_agents(conn, "a.name = ?", (id_or_name,))
        if not found:
            raise ArchiveError(f"no agent with id or name {id_or_name!r} in the archive")
        if len(found) > 1:
            ids = ", ".join(a.id for a in found)
            raise ArchiveError(f"{len(found)} agents are named {id_or_name!r} ({ids}); give an id")
        return found[0]

    def agents(
        self,
        status: AgentStatus | None = None,
        *,
        generation: int | None = None,
        origin: AgentOrigin | None = None,
    ) -> list[AgentRecord]:
        """Agents in creation order, optionally filtered, each with its summaries and parents."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("status", status), ("generation", generation), ("origin", origin)):
            if value is not None:
                clauses.append(f"a.{column} = ?")
                params.append(value)
        with self._db.read() as conn:
            return self._load_agents(conn, " AND ".join(clauses) or "1", tuple(params))

    def find_by_hash(self, code_hash: str) -> list[AgentRecord]:
        """Agents whose normalised-code hash equals `code_hash`, oldest first (empty when none)."""
        with self._db.read() as conn:
            return self._load_agents(conn, "a.code_hash = ?", (code_hash,))

    def lineage(self) -> list[tuple[str, str]]:
        """Every (parent id, child id) edge, in the children's creation order."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT l.parent_id, l.child_id FROM lineage l JOIN agents a ON a.id = l.child_id"
                " ORDER BY a.seq, l.position"
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    # --- evaluations -------------------------------------------------------------------------------------

    def record_results(self, agent_id: str, split: str, results: Iterable[ExampleResult]) -> int:
        """Store per-example results; re-recording an example replaces its row. Returns rows written."""
        now = utc_now()
        rows = [_result_row(agent_id, split, r, now) for r in results]
        with self._db.write() as conn:
            self._require_agent(conn, agent_id)
            conn.executemany(_UPSERT_RESULT, rows)
        return len(rows)

    def record_summary(self, agent_id: str, split: str, summary: EvalSummary) -> None:
        """Store (or replace) the summary of an agent's evaluation on a split."""
        with self._db.write() as conn:
            self._require_agent(conn, agent_id)
            conn.execute(
                "INSERT INTO summaries (agent_id, split, n, acc_mean, acc_low, acc_high, cost_usd, summary,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (agent_id, split) DO UPDATE SET n = excluded.n, acc_mean = excluded.acc_mean,"
                " acc_low = excluded.acc_low, acc_high = excluded.acc_high, cost_usd = excluded.cost_usd,"
                " summary = excluded.summary, recorded_at = excluded.recorded_at",
                (
                    agent_id,
                    split,
                    summary.n,
                    summary.accuracy.mean,
                    summary.accuracy.low,
                    summary.accuracy.high,
                    summary.cost_usd,
                    summary.model_dump_json(),
                    utc_now(),
                ),
            )
            self._agents_changed(agent_id)

    def record_evaluation(
        self,
        agent_id: str,
        result: EvalResult,
        *,
        split: str | None = None,
        status: AgentStatus | None = None,
    ) -> None:
        """Store an EvalResult's records and summary (and optionally a new status) in one transaction.
        The split is `result.split` unless given."""
        split = split or result.split
        with self._db.write():
            self.record_results(agent_id, split, result.results)
            self.record_summary(agent_id, split, result.summary)
            if status is not None:
                self.set_status(agent_id, status)

    def results(self, agent_id: str, split: str) -> list[ExampleResult]:
        """The per-example results of an agent on a split, in the order first recorded."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM results WHERE agent_id = ? AND split = ? ORDER BY id", (agent_id, split)
            ).fetchall()
        return [_result_from_row(r) for r in rows]

    def unscored_counts(self) -> dict[str, dict[str, int]]:
        """Per agent id, per split: the results stored unscored (the provider failed them, error kind
        "provider"; `ExampleResult.unscored`). Agents and splits with none are left out."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT agent_id, split, COUNT(*) FROM results WHERE error_kind = 'provider'"
                " GROUP BY agent_id, split"
            ).fetchall()
        out: dict[str, dict[str, int]] = {}
        for agent_id, split, count in rows:
            out.setdefault(str(agent_id), {})[str(split)] = int(count)
        return out

    def summary(self, agent_id: str, split: str) -> EvalSummary | None:
        """The stored summary of an agent on a split, None when not measured."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT summary FROM summaries WHERE agent_id = ? AND split = ?", (agent_id, split)
            ).fetchone()
        return None if row is None else EvalSummary.model_validate_json(row[0])

    def completed_example_ids(
        self, agent_id: str, split: str, *, retry_error_kinds: Collection[str] = ()
    ) -> set[str]:
        """Ids of the examples already recorded for an agent on a split, so a resumed run can skip them.
        Results that failed with one of `retry_error_kinds` (e.g. `llm` after a budget stop) do not count."""
        kinds = list(retry_error_kinds)
        marks = ", ".join("?" * len(kinds))
        sql = "SELECT example_id FROM results WHERE agent_id = ? AND split = ?"
        if kinds:
            sql += f" AND (error_kind IS NULL OR error_kind NOT IN ({marks}))"
        with self._db.read() as conn:
            return {r[0] for r in conn.execute(sql, (agent_id, split, *kinds))}

    def correctness_matrix(
        self, split: str = "search", *, agent_ids: Iterable[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """agent id -> example id -> score, for every agent with results on `split` (or the ones given)."""
        wanted = None if agent_ids is None else set(agent_ids)
        matrix: dict[str, dict[str, float]] = {}
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT r.agent_id, r.example_id, r.score FROM results r JOIN agents a ON a.id = r.agent_id"
                " WHERE r.split = ? ORDER BY a.seq, r.id",
                (split,),
            )
            for agent_id, example_id, score in rows:
                if wanted is None or agent_id in wanted:
                    matrix.setdefault(agent_id, {})[example_id] = score
        return matrix

    def best_agents(
        self, k: int, split: str = "search", *, by: Literal["lower_bound", "mean"] = "lower_bound"
    ) -> list[AgentRecord]:
        """The `k` agents with the highest summary on `split`, by the interval's lower bound (ties broken by
        the mean) or by the mean; older agents first among equals."""
        order = {"lower_bound": "s.acc_low DESC, s.acc_mean DESC", "mean": "s.acc_mean DESC, s.acc_low DESC"}
        if by not in order:
            raise ArchiveError(f"invalid ranking {by!r}; expected lower_bound or mean")
        with self._db.read() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT s.agent_id FROM summaries s JOIN agents a ON a.id = s.agent_id WHERE s.split = ?"
                    f" ORDER BY {order[by]}, a.seq LIMIT ?",
                    (split, max(k, 0)),
                )
            ]
            marks = ", ".join("?" * len(ids))
            by_id = {a.id: a for a in self._load_agents(conn, f"a.id IN ({marks})", tuple(ids))}
        return [by_id[i] for i in ids]

    # --- helpers -----------------------------------------------------------------------------------------

    @staticmethod
    def _require_agent(conn: sqlite3.Connection, agent_id: str, *, what: str = "agent") -> None:
        if conn.execute("SELECT 1 FROM agents WHERE id = ?", (agent_id,)).fetchone() is None:
            raise ArchiveError(f"unknown {what} {agent_id!r}")

    @staticmethod
    def _load_agents(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> list[AgentRecord]:
        """Agents matching `where` (over alias `a`) with parents and summaries, in creation order."""
        rows = conn.execute(f"SELECT a.* FROM agents a WHERE {where} ORDER BY a.seq", params).fetchall()
        if not rows:
            return []
        parents: dict[str, list[str]] = {}
        for child, parent in conn.execute(
            f"SELECT l.child_id, l.parent_id FROM lineage l JOIN agents a ON a.id = l.child_id WHERE {where}"
            " ORDER BY l.child_id, l.position",
            params,
        ):
            parents.setdefault(child, []).append(parent)
        summaries: dict[str, dict[str, EvalSummary]] = {}
        for agent_id, split, text in conn.execute(
            f"SELECT s.agent_id, s.split, s.summary FROM summaries s JOIN agents a ON a.id = s.agent_id"
            f" WHERE {where}",
            params,
        ):
            summaries.setdefault(agent_id, {})[split] = EvalSummary.model_validate_json(text)
        return [
            AgentRecord(
                id=r["id"],
                name=r["name"],
                thought=r["thought"],
                code=r["code"],
                code_hash=r["code_hash"],
                parents=parents.get(r["id"], []),
                generation=r["generation"],
                origin=r["origin"],
                status=r["status"],
                created_at=r["created_at"],
                meta=json.loads(r["meta"]),
                summaries=summaries.get(r["id"], {}),
            )
            for r in rows
        ]
