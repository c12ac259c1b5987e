"""What the search learns besides scores: review and debug rounds, reflections and the rule manual."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from agentkit.archive._agents import check_choice
from agentkit.archive._db import Database, allocate_id, as_payload, dump_json, utc_now
from agentkit.archive._models import (
    RULE_STATUSES,
    RULE_TYPES,
    ReflectionRecord,
    ReviewKind,
    ReviewRecord,
    RuleEventRecord,
    RuleEvidence,
    RuleOrigin,
    RuleRecord,
    RuleStatus,
    RuleType,
)
from agentkit.errors import ArchiveError


def _rule_from_row(row: sqlite3.Row) -> RuleRecord:
    origin = row["imported_from"]
    return RuleRecord.model_validate(
        {
            **dict(row),
            "evidence": json.loads(row["evidence"]),
            "imported_from": json.loads(origin) if origin else None,
        }
    )


class FeedbackStore:
    """Mixin of `Archive`: self-review/debug history, reflections, rules and their event history."""

    _db: Database

    # --- review and debug rounds -------------------------------------------------------------------------

    def add_review(
        self,
        agent_id: str,
        round: int,
        kind: ReviewKind,
        *,
        prompt_excerpt: str = "",
        reply: str = "",
        error_shown: str | None = None,
    ) -> ReviewRecord:
        """Record one self-review (`review`) or fix (`debug`) round of an agent."""
        check_choice(kind, ("review", "debug"), "review kind")
        now = utc_now()
        with self._db.write() as conn:
            _require(conn, "agents", agent_id, "agent")
            cur = conn.execute(
                "INSERT INTO reviews (agent_id, round, kind, prompt_excerpt, reply, error_shown, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (agent_id, round, kind, prompt_excerpt, reply, error_shown, now),
            )
            row_id = cur.lastrowid
        return ReviewRecord.model_validate(
            {
                "id": row_id,
                "agent_id": agent_id,
                "round": round,
                "kind": kind,
                "prompt_excerpt": prompt_excerpt,
                "reply": reply,
                "error_shown": error_shown,
                "created_at": now,
            }
        )

    def reviews(self, agent_id: str | None = None) -> list[ReviewRecord]:
        """Review and debug rounds in write order, of one agent or of all."""
        clauses, params = _filters(agent_id=agent_id)
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT * FROM reviews WHERE {clauses} ORDER BY id", params).fetchall()
        return [ReviewRecord.model_validate(dict(r)) for r in rows]

    # --- reflections -------------------------------------------------------------------------------------

    def add_reflection(
        self,
        agent_id: str,
        generation: int,
        payload: Mapping[str, Any] | BaseModel,
        *,
        outcome: str,
    ) -> ReflectionRecord:
        """Store a structured reflection on an agent (payload: a dict or pydantic model)."""
        data = as_payload(payload)
        now = utc_now()
        with self._db.write() as conn:
            _require(conn, "agents", agent_id, "agent")
            cur = conn.execute(
                "INSERT INTO reflections (agent_id, generation, outcome, payload, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (agent_id, generation, outcome, dump_json(data, what="reflection payload"), now),
            )
            row_id = cur.lastrowid
        return ReflectionRecord.model_validate(
            {
                "id": row_id,
                "agent_id": agent_id,
                "generation": generation,
                "outcome": outcome,
                "payload": data,
                "created_at": now,
            }
        )

    def reflections(
        self, *, agent_id: str | None = None, generation: int | None = None
    ) -> list[ReflectionRecord]:
        """Reflections in write order, optionally of one agent or one generation."""
        clauses, params = _filters(agent_id=agent_id, generation=generation)
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT * FROM reflections WHERE {clauses} ORDER BY id", params).fetchall()
        return [
            ReflectionRecord.model_validate({**dict(r), "payload": json.loads(r["payload"])}) for r in rows
        ]

    # --- rules -------------------------------------------------------------------------------------------

    def add_rule(
        self,
        type: RuleType,
        text: str,
        *,
        generation: int,
        scope: str = "",
        example: str = "",
        status: RuleStatus = "candidate",
        evidence: Iterable[RuleEvidence] = (),
        rule_id: str | None = None,
        imported_from: RuleOrigin | None = None,
    ) -> RuleRecord:
        """Write a new rule (id `r001`, ... unless given) and log a `write` rule event; `imported_from`
        marks a rule carried over from another run's manual."""
        check_choice(type, RULE_TYPES, "rule type")
        check_choice(status, RULE_STATUSES, "rule status")
        items = [e.model_dump(mode="json") for e in evidence]
        origin = imported_from.model_dump(mode="json") if imported_from is not None else None
        now = utc_now()
        with self._db.write() as conn:
            seq, rule_id = allocate_id(conn, "rules", prefix="r", width=3, given=rule_id, what="a rule")
            conn.execute(
                "INSERT INTO rules (seq, id, type, scope, text, example, status, created_gen,"
                " last_confirmed_gen, evidence, imported_from, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    rule_id,
                    type,
                    scope,
                    text,
                    example,
                    status,
                    generation,
                    generation,
                    dump_json(items, what="rule evidence"),
                    None if origin is None else dump_json(origin, what="rule origin"),
                    now,
                ),
            )
            payload: dict[str, Any] = {
                "type": type,
                "scope": scope,
                "text": text,
                "example": example,
                "status": status,
                "evidence": items,
            }
            if origin is not None:
                payload["imported_from"] = origin
            _rule_event(conn, rule_id, generation, "write", payload)
            return self._rule(conn, rule_id)

    def update_rule(
        self,
        rule_id: str,
        *,
        generation: int,
        text: str | None = None,
        scope: str | None = None,
        example: str | None = None,
        type: RuleType | None = None,
        add_evidence: Iterable[RuleEvidence] = (),
    ) -> RuleRecord:
        """Change a rule's wording and/or append evidence (which confirms it in `generation`); logs an
        `update` rule event with the old and new values."""
        if type is not None:
            check_choice(type, RULE_TYPES, "rule type")
        new_items = [e.model_dump(mode="json") for e in add_evidence]
        with self._db.write() as conn:
            rule = self._rule(conn, rule_id)
            changes = {
                k: v
                for k, v in {"text": text, "scope": scope, "example": example, "type": type}.items()
                if v is not None and v != getattr(rule, k)
            }
            evidence = [e.model_dump(mode="json") for e in rule.evidence] + new_items
            confirmed = generation if new_items else rule.last_confirmed_gen
            conn.execute(
                "UPDATE rules SET text = ?, scope = ?, example = ?, type = ?, evidence = ?,"
                " last_confirmed_gen = ?, updated_at = ? WHERE id = ?",
                (
                    changes.get("text", rule.text),
                    changes.get("scope", rule.scope),
                    changes.get("example", rule.example),
                    changes.get("type", rule.type),
                    dump_json(evidence, what="rule evidence"),
                    max(confirmed, rule.last_confirmed_gen),
                    utc_now(),
                    rule_id,
                ),
            )
            payload = {
                "changes": changes,
                "previous": {k: getattr(rule, k) for k in changes},
                "evidence": new_items,
            }
            _rule_event(conn, rule_id, generation, "update", payload)
            return self._rule(conn, rule_id)

    def set_rule_status(
        self, rule_id: str, status: RuleStatus, *, generation: int, reason: str = ""
    ) -> RuleRecord:
        """Activate, retire (or demote to candidate) a rule, logging a `status` rule event with the reason."""
        check_choice(status, RULE_STATUSES, "rule status")
        with self._db.write() as conn:
            rule = self._rule(conn, rule_id)
            conn.execute(
                "UPDATE rules SET status = ?, updated_at = ? WHERE id = ?", (status, utc_now(), rule_id)
            )
            payload = {"from": rule.status, "to": status, "reason": reason}
            _rule_event(conn, rule_id, generation, "status", payload)
            return self._rule(conn, rule_id)

    def record_rule_lift(
        self,
        generation: int,
        score: float,
        *,
        shown: Iterable[str] = (),
        hidden: Iterable[str] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Count one candidate's `score` for each rule that was shown to, or hidden from, the meta agent
        when it was proposed; logs a `lift` rule event per rule (with `detail`, e.g. which candidate and
        how the score was measured, added to its payload)."""
        with self._db.write() as conn:
            for ids, was_shown in ((list(shown), True), (list(hidden), False)):
                side = "shown" if was_shown else "hidden"
                for rule_id in ids:
                    cur = conn.execute(
                        f"UPDATE rules SET {side}_count = {side}_count + 1,"
                        f" {side}_score_sum = {side}_score_sum + ?, updated_at = ? WHERE id = ?",
                        (score, utc_now(), rule_id),
                    )
                    if cur.rowcount == 0:
                        raise ArchiveError(f"unknown rule {rule_id!r}")
                    _rule_event(
                        conn,
                        rule_id,
                        generation,
                        "lift",
                        {**(detail or {}), "shown": was_shown, "score": score},
                    )

    def rule(self, rule_id: str) -> RuleRecord:
        """One rule by id; ArchiveError when unknown."""
        with self._db.read() as conn:
            return self._rule(conn, rule_id)

    def rules(self, status: RuleStatus | None = None) -> list[RuleRecord]:
        """Rules in creation order, optionally only those with `status`."""
        clauses, params = _filters(status=status)
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT * FROM rules WHERE {clauses} ORDER BY seq", params).fetchall()
        return [_rule_from_row(r) for r in rows]

    def rule_events(self, rule_id: str | None = None) -> list[RuleEventRecord]:
        """The append-only history of the manual, of one rule or all, in write order."""
        clauses, params = _filters(rule_id=rule_id)
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT * FROM rule_events WHERE {clauses} ORDER BY id", params).fetchall()
        return [
            RuleEventRecord.model_validate({**dict(r), "payload": json.loads(r["payload"])}) for r in rows
        ]

    @staticmethod
    def _rule(conn: sqlite3.Connection, rule_id: str) -> RuleRecord:
        row = conn.execute("SELECT * FROM rules WHERE id = ?", (rule_id,)).fetchone()
        if row is None:
            raise ArchiveError(f"unknown rule {rule_id!r}")
        return _rule_from_row(row)


def _require(conn: sqlite3.Connection, table: str, row_id: str, what: str) -> None:
    if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is None:
        raise ArchiveError(f"unknown {what} {row_id!r}")


def _filters(**values: Any) -> tuple[str, tuple[Any, ...]]:
    """A WHERE clause (never empty) and its parameters for the given column = value pairs that are set."""
    pairs = [(k, v) for k, v in values.items() if v is not None]
    return " AND ".join(f"{k} = ?" for k, _ in pairs) or "1", tuple(v for _, v in pairs)


def _rule_event(conn: sqlite3.Connection, rule_id: str, generation: int, kind: str, payload: Any) -> None:
    conn.execute(
        "INSERT INTO rule_events (rule_id, generation, kind, payload, ts) VALUES (?, ?, ?, ?, ?)",
        (rule_id, generation, kind, dump_json(payload, what="rule event payload"), utc_now()),
    )
