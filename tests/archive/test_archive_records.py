"""Round-trips of every record type, idempotent recording, transactions and the query API."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest
from archive_helpers import CODE, make_results, make_summary
from pydantic import BaseModel

from agentkit.archive import SCHEMA_VERSION, Archive, RuleEvidence, RuleOrigin, normalised_code_hash
from agentkit.errors import ArchiveError
from agentkit.records import EvalResult


def test_config_and_info_round_trip(archive: Archive, tmp_path: Path) -> None:
    info = archive.info()
    assert info.config == {"task": "gsm8k", "seed": 0}
    assert info.schema_version == SCHEMA_VERSION and info.run_dir == tmp_path / "run"
    assert archive.update_config({"git": "abc123"}) == {"task": "gsm8k", "seed": 0, "git": "abc123"}
    archive.close()
    with Archive.open(tmp_path / "run") as again:
        assert again.config["git"] == "abc123"
        assert again.info().created_at == info.created_at


def test_agent_round_trip(archive: Archive) -> None:
    seed = archive.add_agent("CoT", CODE, thought="step by step", origin="seed", status="evaluated")
    child = archive.add_agent(
        "Self-Refine",
        CODE.replace("Think", "Reflect"),
        thought="refine",
        parents=[seed.id, seed.id],
        generation=3,
        meta={"adas_fitness": "95% CI: (1, 2)"},
    )
    assert (seed.id, child.id) == ("a0001", "a0002")
    got = archive.agent(child.id)
    assert got == child
    assert got.parents == [seed.id, seed.id]
    assert got.generation == 3 and got.origin == "meta" and got.status == "proposed"
    assert got.meta == {"adas_fitness": "95% CI: (1, 2)"}
    assert got.code_hash == normalised_code_hash(got.code)
    assert archive.agent("Self-Refine") == got
    assert archive.lineage() == [(seed.id, child.id), (seed.id, child.id)]
    assert [a.id for a in archive.agents()] == [seed.id, child.id]
    assert [a.id for a in archive.agents(status="evaluated")] == [seed.id]
    assert [a.id for a in archive.agents(generation=3)] == [child.id]
    assert archive.find_by_hash(normalised_code_hash(CODE + "\n# comment\n")) == [archive.agent(seed.id)]
    assert archive.find_by_hash("0" * 64) == []

    custom = archive.add_agent("Imported", CODE, agent_id="adas-7", origin="import")
    assert archive.agent("adas-7") == custom
    with pytest.raises(ArchiveError, match="already exists"):
        archive.add_agent("Again", CODE, agent_id="adas-7")
    assert archive.add_agent("Next", CODE).id == "a0004"


def test_agent_errors(archive: Archive) -> None:
    a = archive.add_agent("Same", CODE)
    archive.add_agent("Same", CODE)
    with pytest.raises(ArchiveError, match="2 agents are named 'Same'"):
        archive.agent("Same")
    with pytest.raises(ArchiveError, match="no agent"):
        archive.agent("nope")
    with pytest.raises(ArchiveError, match="unknown parent"):
        archive.add_agent("Orphan", CODE, parents=["zzz"])
    with pytest.raises(ArchiveError, match="invalid status"):
        archive.set_status(a.id, "great")  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match="no agent"):
        archive.set_status("a9999", "failed")
    with pytest.raises(ArchiveError, match="invalid agent id"):
        archive.add_agent("Bad", CODE, agent_id="has space")
    # The failed add left nothing behind.
    assert [x.name for x in archive.agents()] == ["Same", "Same"]


def test_update_agent_rehashes_and_renames_its_file(archive: Archive) -> None:
    a = archive.add_agent("Draft", CODE, thought="first")
    old_file = archive.agent_file(a.id)
    assert old_file.exists()
    b = archive.update_agent(a.id, name="Fixed", code=CODE.replace("Think", "Reason"), meta={"fix": 1})
    assert b.code_hash != a.code_hash and b.thought == "first" and b.meta == {"fix": 1}
    assert not old_file.exists()
    assert "Reason" in archive.agent_file(a.id).read_text()
    archive.set_status(a.id, "failed")
    assert archive.agent(a.id).status == "failed"


def test_results_and_summaries_round_trip(archive: Archive) -> None:
    a = archive.add_agent("CoT", CODE)
    results = make_results(6)
    assert archive.record_results(a.id, "search", results) == 6
    assert archive.results(a.id, "search") == results
    assert archive.results(a.id, "test") == []
    summary = make_summary(0.5, 0.2, 0.8, n=6)
    archive.record_summary(a.id, "search", summary)
    assert archive.summary(a.id, "search") == summary
    assert archive.summary(a.id, "test") is None
    assert archive.agent(a.id).search_summary == summary
    assert archive.agent(a.id).test_summary is None

    test_results = make_results(3, prefix="t")
    archive.record_evaluation(
        a.id, EvalResult(agent="CoT", task="gsm8k", split="test", results=test_results, summary=summary)
    )
    assert archive.results(a.id, "test") == test_results
    assert archive.agent(a.id).test_summary == summary
    with pytest.raises(ArchiveError, match="unknown agent"):
        archive.record_results("a9999", "search", results)


def test_re_recording_is_idempotent(archive: Archive) -> None:
    a = archive.add_agent("CoT", CODE)
    results = make_results(10)
    archive.record_results(a.id, "search", results[:4])
    assert archive.completed_example_ids(a.id, "search") == {"ex0", "ex1", "ex2", "ex3"}
    archive.record_results(a.id, "search", results)  # a resumed run records the whole batch again
    archive.record_results(a.id, "search", results)
    assert archive.results(a.id, "search") == results
    assert archive.completed_example_ids(a.id, "search") == {r.example_id for r in results}
    assert archive.completed_example_ids(a.id, "screen") == set()
    # Failures of a kind worth retrying do not count as done.
    done = archive.completed_example_ids(a.id, "search", retry_error_kinds=["exception"])
    assert done == {f"ex{i}" for i in range(0, 10, 2)}
    # Recording again replaces the row in place.
    fixed = results[1].model_copy(update={"score": 1.0, "answer": "1", "error": None})
    archive.record_results(a.id, "search", [fixed])
    again = archive.results(a.id, "search")
    assert len(again) == 10 and again[1] == fixed
    archive.record_summary(a.id, "search", make_summary(0.5, 0.1, 0.9))
    archive.record_summary(a.id, "search", make_summary(0.6, 0.2, 0.9))
    assert archive.summary(a.id, "search") == make_summary(0.6, 0.2, 0.9)


def test_correctness_matrix_and_best_agents(archive: Archive) -> None:
    ids = []
    intervals = [(0.6, 0.3, 0.9), (0.55, 0.5, 0.6), (0.7, 0.2, 0.95), (0.55, 0.5, 0.6)]
    for i, (mean, low, high) in enumerate(intervals):
        a = archive.add_agent(f"A{i}", CODE + f"\n# {i}\n")
        ids.append(a.id)
        archive.record_results(a.id, "search", make_results(4, correct={i}))
        archive.record_summary(a.id, "search", make_summary(mean, low, high))
    unscored = archive.add_agent("Unscored", CODE)
    matrix = archive.correctness_matrix()
    assert list(matrix) == ids and unscored.id not in matrix
    assert matrix[ids[2]] == {"ex0": 0.0, "ex1": 0.0, "ex2": 1.0, "ex3": 0.0}
    assert list(archive.correctness_matrix(agent_ids=[ids[1]])) == [ids[1]]
    assert archive.correctness_matrix("test") == {}
    # Lower bound first, ties by mean then age.
    assert [a.id for a in archive.best_agents(3)] == [ids[1], ids[3], ids[0]]
    assert [a.id for a in archive.best_agents(2, by="mean")] == [ids[2], ids[0]]
    assert archive.best_agents(0) == [] and archive.best_agents(5, split="test") == []
    assert archive.best_agents(1)[0].search_summary == make_summary(0.55, 0.5, 0.6)


def test_reviews_and_reflections_round_trip(archive: Archive) -> None:
    a = archive.add_agent("CoT", CODE)
    r1 = archive.add_review(a.id, 1, "review", prompt_excerpt="Is it new?", reply="yes")
    r2 = archive.add_review(a.id, 1, "debug", prompt_excerpt="Fix it", reply="fixed", error_shown="KeyError")
    assert archive.reviews(a.id) == [r1, r2] == archive.reviews()
    assert r2.error_shown == "KeyError" and r2.kind == "debug"
    with pytest.raises(ArchiveError, match="invalid review kind"):
        archive.add_review(a.id, 2, "chat")  # type: ignore[arg-type]

    class Payload(BaseModel):
        fault: str
        example_ids: list[str]

    ref = archive.add_reflection(a.id, 2, Payload(fault="agent", example_ids=["ex1"]), outcome="regressed")
    ref2 = archive.add_reflection(a.id, 3, {"fault": "rules"}, outcome="improved")
    assert ref.payload == {"fault": "agent", "example_ids": ["ex1"]}
    assert archive.reflections() == [ref, ref2]
    assert archive.reflections(generation=3) == [ref2]
    assert archive.reflections(agent_id="zzz") == []


def test_rules_round_trip_with_append_only_history(archive: Archive) -> None:
    ev = RuleEvidence(agent_id="a0001", generation=1, score_change=0.1, example_ids=["ex1"], reflection_id=4)
    rule = archive.add_rule("success_pattern", "Vote over 5 samples.", generation=1, scope="arithmetic",
                            example="majority_vote(...)", evidence=[ev])  # fmt: skip
    assert rule.id == "r001" and rule.status == "candidate" and rule.evidence == [ev]
    assert rule.lift is None and rule.created_gen == rule.last_confirmed_gen == 1
    ev2 = RuleEvidence(agent_id="a0002", generation=4)
    updated = archive.update_rule(rule.id, generation=4, text="Vote over 3 samples.", add_evidence=[ev2])
    assert updated.text == "Vote over 3 samples." and updated.evidence == [ev, ev2]
    assert updated.last_confirmed_gen == 4 and updated.scope == "arithmetic"
    active = archive.set_rule_status(rule.id, "active", generation=4, reason="confirmed twice")
    assert active.status == "active"
    other = archive.add_rule("unresolved_error", "Parsing fails on units.", generation=5, status="active")
    archive.record_rule_lift(5, 0.8, shown=[rule.id], hidden=[other.id])
    archive.record_rule_lift(5, 0.4, shown=[rule.id, other.id])
    got = archive.rule(rule.id)
    assert (got.shown_count, got.hidden_count, got.shown_mean, got.hidden_mean) == (
        2,
        0,
        pytest.approx(0.6),
        None,
    )
    o = archive.rule(other.id)
    assert o.lift == pytest.approx(0.4 - 0.8)
    assert [r.id for r in archive.rules(status="active")] == [rule.id, other.id]
    assert archive.rules(status="retired") == []
    kinds = [e.kind for e in archive.rule_events(rule.id)]
    assert kinds == ["write", "update", "status", "lift", "lift"]
    upd = archive.rule_events(rule.id)[1].payload
    assert upd["changes"] == {"text": "Vote over 3 samples."}
    assert upd["previous"] == {"text": "Vote over 5 samples."}
    with pytest.raises(ArchiveError, match="unknown rule"):
        archive.record_rule_lift(6, 1.0, hidden=["r999"])
    with pytest.raises(ArchiveError, match="invalid rule type"):
        archive.add_rule("vibe", "x", generation=1)  # type: ignore[arg-type]
    raw = sqlite3.connect(archive.db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE rule_events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM rule_events")
    raw.close()


def test_an_imported_rule_keeps_its_origin(archive: Archive) -> None:
    origin = RuleOrigin(run_dir="/runs/first", rule_id="r007", created_gen=3, lift=0.05)
    rule = archive.add_rule("strategy", "Check units.", generation=0, status="active", imported_from=origin)
    own = archive.add_rule("strategy", "Vote.", generation=1)
    assert archive.rule(rule.id).imported_from == origin and own.imported_from is None
    (write,) = archive.rule_events(rule.id)
    assert write.kind == "write" and write.payload["imported_from"]["rule_id"] == "r007"
    assert "imported_from" not in archive.rule_events(own.id)[0].payload


def test_a_version_1_archive_is_upgraded_and_its_rules_are_its_own(tmp_path: Path) -> None:
    from agentkit.archive._schema import MIGRATIONS

    run, t0 = tmp_path / "old", "2025-01-01T00:00:00+00:00"
    (run / "agents").mkdir(parents=True)
    raw = sqlite3.connect(run / "archive.sqlite")
    for statement in MIGRATIONS[1]:
        raw.execute(statement)
    raw.execute("INSERT INTO schema_version (version, applied_at) VALUES (1, 'then')")
    raw.execute(
        "INSERT INTO run_config (id, config, created_at, updated_at) VALUES (1, '{}', ?, ?)", (t0, t0)
    )
    raw.execute(
        "INSERT INTO rules (seq, id, type, scope, text, example, status, created_gen, last_confirmed_gen,"
        " evidence, updated_at) VALUES (1, 'r001', 'strategy', '', 'Old rule.', '', 'active', 1, 1, '[]', ?)",
        (t0,),
    )
    raw.commit()
    raw.close()
    with Archive.open(run) as upgraded:
        assert upgraded.info().schema_version == SCHEMA_VERSION == 2
        (rule,) = upgraded.rules()
        assert rule.text == "Old rule." and rule.imported_from is None


def test_events_state_and_usage(archive: Archive) -> None:
    e1 = archive.log_event("generation_start", {"n": 1}, generation=1)
    e2 = archive.log_event("budget_stop")
    assert archive.events() == [e1, e2]
    assert archive.events("budget_stop") == [e2]
    assert archive.events(generation=1) == [e1]
    assert archive.events(after_id=e1.id) == [e2]

    assert archive.get_state("next_generation") is None
    assert archive.get_state("missing", 7) == 7
    archive.set_state("next_generation", 3)
    archive.set_state("rng", [3, [1, 2, 3], None])
    archive.set_state("next_generation", 4)
    assert archive.state() == {"next_generation": 4, "rng": [3, [1, 2, 3], None]}
    with pytest.raises(ArchiveError, match="not JSON-serialisable"):
        archive.set_state("bad", object())

    archive.add_usage(1, "meta", "gpt-x", calls=2, prompt_tokens=100, completion_tokens=50, cost_usd=0.01)
    archive.add_usage(1, "meta", "gpt-x", calls=1, prompt_tokens=10, completion_tokens=5, cost_usd=0.02)
    archive.add_usage(2, "meta", "gpt-x", calls=1, cost_usd=None)
    archive.add_usage(2, "agent", "local", calls=10, prompt_tokens=1000)
    rows = archive.usage(1)
    assert len(rows) == 1 and rows[0].calls == 3 and rows[0].cost_usd == pytest.approx(0.03)
    by_role = archive.usage_by_role()
    assert by_role["meta"].calls == 4 and by_role["meta"].cost_usd == pytest.approx(0.03)
    assert by_role["agent"].prompt_tokens == 1000 and by_role["agent"].cost_usd is None
    # calls whose cost is unknown are counted, so a total in dollars can say it leaves them out
    assert by_role["meta"].unpriced_calls == 1 and by_role["agent"].unpriced_calls == 10
    assert [(r.role, r.unpriced_calls) for r in archive.usage(2)] == [("agent", 10), ("meta", 1)]
    assert archive.usage(1)[0].unpriced_calls == 0


def test_transaction_is_all_or_nothing(archive: Archive) -> None:
    a = archive.add_agent("CoT", CODE)
    with pytest.raises(RuntimeError), archive.transaction():
        b = archive.add_agent("Lost", CODE)
        archive.record_results(b.id, "search", make_results(5))
        archive.set_state("next_generation", 9)
        raise RuntimeError("crash in the middle")
    assert [x.id for x in archive.agents()] == [a.id]
    assert archive.get_state("next_generation") is None
    assert not list(archive.agents_dir.glob("*Lost*")) and not list(archive.agents_dir.glob("*_lost.py"))
    # A failed inner write is rolled back alone when the caller catches it.
    with archive.transaction():
        archive.set_state("k", 1)
        with pytest.raises(ArchiveError):
            archive.record_results("a9999", "search", make_results(2))
        archive.set_status(a.id, "screened")
    assert archive.get_state("k") == 1 and archive.agent(a.id).status == "screened"


def test_database_settings(archive: Archive) -> None:
    raw = sqlite3.connect(archive.db_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    conn = archive._db.conn
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert archive.integrity_check() == []


def test_agent_files_are_readable_and_rebuildable(archive: Archive, tmp_path: Path) -> None:
    nasty = 'Uses """triple quotes""", a backslash \\n and ends with a quote"'
    seed = archive.add_agent("CoT", CODE, origin="seed")
    a = archive.add_agent('Tricky "Name" / v2', CODE, thought=nasty, parents=[seed.id], generation=2)
    archive.record_summary(a.id, "search", make_summary(0.5, 0.25, 0.75, n=20))
    path = archive.agent_file(a.id)
    assert path.name == "002_a0002_tricky_name_v2.py"
    text = path.read_text()
    module = ast.parse(text)
    doc = ast.get_docstring(module) or ""
    assert nasty in doc and "parents: a0001" in doc and "generation: 2" in doc
    assert "search score: 0.500 [0.250, 0.750] on 20 examples" in doc
    assert text.endswith(CODE)
    assert normalised_code_hash(text) == a.code_hash  # the header is only a docstring

    path.unlink()
    (archive.agents_dir / "009_a0999_ghost.py").write_text("x = 1\n")
    (archive.agents_dir / ".001_a0002_x.py.123.tmp").write_text("partial")
    (archive.agents_dir / "notes.txt").write_text("mine")
    written = archive.rewrite_agent_files()
    assert sorted(p.name for p in written) == sorted(p.name for p in archive.agents_dir.glob("*.py"))
    assert sorted(p.name for p in archive.agents_dir.iterdir()) == [
        "000_a0001_cot.py",
        "002_a0002_tricky_name_v2.py",
        "notes.txt",
    ]
    assert path.read_text() == text

    # Opening repairs a file lost between a commit and its write.
    path.unlink()
    archive.close()
    with Archive.open(tmp_path / "run") as again:
        assert path.read_text() == text
        assert again.agent(a.id).thought == nasty


def test_open_and_create_errors(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="does not exist"):
        Archive.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveError, match="holds no archive"):
        Archive.open(tmp_path / "empty")
    assert not Archive.exists(tmp_path / "empty")

    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "archive.sqlite").write_bytes(b"this is not a database at all\n" * 200)
    with pytest.raises(ArchiveError, match="not a readable archive"):
        Archive.open(garbage)

    zero = tmp_path / "zero"  # a run that crashed while its database was being created
    zero.mkdir()
    (zero / "archive.sqlite").write_bytes(b"")
    with pytest.raises(ArchiveError, match=r"archive.sqlite is empty \(0 bytes\)"):
        Archive.open(zero)
    assert (zero / "archive.sqlite").stat().st_size == 0  # reading it wrote nothing into it

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    raw = sqlite3.connect(foreign / "archive.sqlite")
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(ArchiveError, match="not an agentkit archive"):
        Archive.open(foreign)

    with Archive.create(tmp_path / "run", {}) as arch:
        assert Archive.exists(tmp_path / "run")
        arch.add_agent("CoT", CODE)
    with pytest.raises(ArchiveError, match="already holds an archive"):
        Archive.create(tmp_path / "run", {})
    with Archive.open(tmp_path / "run" / "archive.sqlite") as arch:
        assert len(arch.agents()) == 1
    arch.close()
    with pytest.raises(ArchiveError, match="closed"):
        arch.agents()

    raw = sqlite3.connect(tmp_path / "run" / "archive.sqlite")
    raw.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')")
    raw.commit()
    raw.close()
    with pytest.raises(ArchiveError, match="schema version 99 is newer"):
        Archive.open(tmp_path / "run")
