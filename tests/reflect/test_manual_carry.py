"""Manuals that carry over (``--manual-from RUN``): a second search starts from the first one's active
rules, shows them to its meta agent, marks them imported, measures and retires them like its own, says
in `show` and the report which survived, never imports twice on resume, and refuses a RUN that has no
manual to give."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from reflect_helpers import add_scored, is_builder, is_reflection, user_text
from test_reflect_lift import _run_generations
from test_reflect_search import META_MARK, Meta, _agent_reply, _config, _reflect, _scripted_server
from typer.testing import CliRunner

import agentkit
from agentkit.archive import Archive, RuleEvidence
from agentkit.cli import app
from agentkit.errors import ManualSourceError
from agentkit.llm import LLMClient, ModelConfig
from agentkit.reflect import IMPORT_EVENT, ReflectConfig, ReflectHooks, import_manual, read_manual_source
from agentkit.report import write_report
from agentkit.report._effects import imported_rules
from agentkit.tasks import Example
from agentkit.testing import FakeOpenAIServer

cli = CliRunner()
DOUBTED = "Answers off by one stay unexplained."
KEPT = "Compute in one call and return the integer."


def _retiring_build(body: dict[str, Any]) -> str:
    """The second run's builder: retires the imported rule `DOUBTED` when the manual lists it, else
    writes nothing."""
    found = re.search(
        rf"^- (r\d+) \[unresolved_error, active[^\]]*\]: {re.escape(DOUBTED)}$", user_text(body), re.M
    )
    ops = (
        [{"op": "retire", "rule_id": found.group(1), "reason": "no candidate here is off by one"}]
        if found
        else []
    )
    return json.dumps({"operations": ops})


def _second_server(meta: Meta) -> FakeOpenAIServer:
    server = FakeOpenAIServer()
    server.add_rule(is_reflection, _reflect)
    server.add_rule(is_builder, _retiring_build)
    server.add_rule(lambda b: META_MARK in user_text(b), meta.reply)
    server.add_rule(lambda b: True, _agent_reply)
    return server


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished search whose manual holds two active rules (a success pattern and an open problem)."""
    run = tmp_path_factory.mktemp("carry") / "first-run"
    with _scripted_server(Meta()) as server:
        config = _config(server, generations=2, reflect={"hide_share": 0.0})
        outcome = asyncio.run(agentkit.run_search(config, run))
    assert outcome.status == "finished", outcome.reason
    with Archive.open(run) as archive:
        why = [(e.kind, e.payload) for e in archive.events() if e.kind in ("rule_ops", "hook_error")]
        why += [(r.agent_id, r.outcome) for r in archive.reflections()]
        assert {r.text for r in archive.rules("active")} == {KEPT, DOUBTED}, why
    return run


def _cli_search(server: FakeOpenAIServer, out: Path, *extra: str) -> Any:
    args = [
        "search", "--task", "gen/arithmetic", "--model", "openai/fake", "--api-base", server.base_url,
        "--search-size", "20", "--test-size", "4", "--screen-size", "0", "--self-review", "0",
        "--debug-attempts", "0", "--isolation", "process", "--no-cache", "--no-progress", "--proposals", "code",
        "--no-ensembles", "--out", str(out), *extra,
    ]  # fmt: skip
    return cli.invoke(app, args)


@pytest.mark.sandbox
def test_a_second_run_starts_from_the_first_runs_rules(first_run: Path, tmp_path: Path) -> None:
    with Archive.open(first_run) as archive:
        source = {r.id: r for r in archive.rules("active")}
    second = tmp_path / "second-run"
    meta = Meta()
    with _second_server(meta) as server:
        done = _cli_search(server, second, "--generations", "2", "--manual-from", str(first_run))
        assert done.exit_code == 0, done.output
        with Archive.open(second) as archive:
            assert archive.events("hook_error") == []
            assert archive.config["search"]["reflect"]["manual_from"] == str(first_run)
            imported = [r for r in archive.rules() if r.imported_from is not None]
            # Both active rules came over, with fresh ids, their origin and their evidence (agent ids
            # qualified by the run they come from).
            assert sorted(r.imported_from.rule_id for r in imported if r.imported_from) == sorted(source)
            for rule in imported:
                assert rule.imported_from is not None
                old = source[rule.imported_from.rule_id]
                assert rule.text == old.text and rule.type == old.type and rule.created_gen == 0
                assert rule.imported_from.run_dir == str(first_run.resolve())
                assert [e.agent_id for e in rule.evidence] == [
                    f"first-run:{e.agent_id}" for e in old.evidence
                ]
            (event,) = archive.events(IMPORT_EVENT)
            assert sorted(event.payload["rules"].values()) == sorted(source)
            fate = {r.text: r.status for r in archive.rules()}
            assert fate[KEPT] == "active" and fate[DOUBTED] == "retired"
        # The first meta prompt of the new run already holds both imported rules.
        assert KEPT in meta.prompts[0] and DOUBTED in meta.prompts[0]
        # Once retired, a rule is no longer shown.
        assert DOUBTED not in meta.prompts[-1] and KEPT in meta.prompts[-1]

        # Resume with more generations: the import is not repeated.
        more = cli.invoke(app, ["search", "--resume", str(second), "--generations", "3", "--no-progress"])
        assert more.exit_code == 0, more.output
    with Archive.open(second) as archive:
        assert len(archive.events(IMPORT_EVENT)) == 1
        assert len([r for r in archive.rules() if r.imported_from is not None]) == len(source)
        assert len([a for a in archive.agents(origin="meta")]) == 3

    shown = cli.invoke(app, ["show", str(second)], env={"COLUMNS": "240"})
    assert shown.exit_code == 0, shown.output
    assert "rules imported from first-run: 1 survived, 1 retired" in shown.stdout
    assert "no candidate here is off by one" in shown.stdout
    data = json.loads(cli.invoke(app, ["show", str(second), "--json"]).stdout)
    fates = {r["text"]: r["status"] for r in data["effects"]["imported"]}
    assert fates == {KEPT: "active", DOUBTED: "retired"}

    listed = cli.invoke(app, ["manual", str(second), "--all"], env={"COLUMNS": "240"})
    assert listed.exit_code == 0, listed.output
    rows = {ln.split()[1]: ln for ln in listed.stdout.splitlines() if ln.strip().startswith("│ r0")}
    with Archive.open(second, repair_files=False) as archive:
        origins = {r.id: r.imported_from for r in archive.rules()}
    for rule_id, row in rows.items():
        origin = origins[rule_id]
        expected = f"first-run {origin.rule_id}" if origin is not None else "this run"
        assert expected in row, row
    assert len(rows) == len(origins) and any(o is not None for o in origins.values())

    html = write_report(second).read_text()
    section = html[html.index('id="imported-rules"') :]
    assert "Imported rules: 1 of 2 survived" in section
    assert KEPT in section and DOUBTED in section and "no candidate here is off by one" in section
    assert "survived" in section and "retired" in section


def test_a_run_without_a_manual_is_refused_before_anything_starts(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    no_rules = tmp_path / "no-rules"
    with Archive.create(no_rules, {"task": "gen/arithmetic"}) as archive:
        rule = archive.add_rule("strategy", "Vote.", generation=1, status="active")
        archive.set_rule_status(rule.id, "retired", generation=2, reason="hurts")
    for source, said in (
        (empty, "not a run directory"),
        (tmp_path / "missing", "does not exist"),
        (no_rules, "no active rules to carry over (its 1 rules are all retired"),
    ):
        with pytest.raises(ManualSourceError, match=re.escape(said)):
            read_manual_source(source)
        out = tmp_path / f"new-{source.name}"
        config = agentkit.SearchConfig(
            task="gen/arithmetic", model="openai/fake", api_base="http://127.0.0.1:9/v1",
            reflect={"manual_from": str(source)},
        )  # fmt: skip
        with pytest.raises(ManualSourceError, match=re.escape(said)):
            asyncio.run(agentkit.run_search(config, out))
        assert not out.exists()  # refused before the run directory was made
        done = cli.invoke(app, ["search", "--task", "gen/arithmetic", "--model", "openai/fake",
                                "--out", str(out), "--manual-from", str(source)])  # fmt: skip
        assert isinstance(done.exception, ManualSourceError) and said in str(done.exception)
        assert not out.exists()
    # The manual switched off cannot start from another run's.
    with pytest.raises(agentkit.errors.ConfigError, match="needs the manual on"):
        asyncio.run(
            agentkit.run_search(
                agentkit.SearchConfig(
                    task="gen/arithmetic", reflect={"manual": False, "manual_from": str(empty)}
                ),
                tmp_path / "off",
            )
        )


async def test_an_imported_rule_is_retired_by_its_lift_like_any_rule(
    archive: Archive, client: LLMClient, model: ModelConfig, examples: list[Example], tmp_path: Path
) -> None:
    with Archive.create(tmp_path / "origin", {"task": "toy/double"}) as other:
        evidence = [RuleEvidence(agent_id="a0003", generation=2, example_ids=["ex0"])]
        other.add_rule(
            "strategy", "Always answer in words.", generation=2, status="active", evidence=evidence
        )
    parent, _ = add_scored(archive, examples, "Seed", range(10), origin="seed")
    (rule,) = import_manual(archive, read_manual_source(tmp_path / "origin"), generation=0)
    assert rule.status == "active" and rule.imported_from is not None and rule.imported_from.rule_id == "r001"
    cfg = ReflectConfig(hide_share=0.5, contrastive=False)
    seen = await _run_generations(
        archive,
        ReflectHooks(cfg),
        examples,
        (client, model),
        rule,
        parent.id,
        {True: range(4), False: range(14)},  # gain -0.3 when shown, +0.2 when hidden
        60,
    )
    assert archive.rule(rule.id).status == "retired" and seen.count(True) >= 5
    (fate,) = imported_rules(archive, cfg, seed=0)
    assert not fate.survived and fate.verdict == "hurts" and fate.retired_reason.startswith("hurts: lift")
    assert fate.lift is not None and fate.lift.high < 0 and fate.shown + fate.hidden == len(seen)
