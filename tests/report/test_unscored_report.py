"""The report shows what the provider left unscored: per agent beside its score, a run-level line, and
agents still waiting for unscored examples marked as such (they are not compared or selected yet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.archive import Archive
from agentkit.evaluate._summary import summarize
from agentkit.records import AgentFailure, ExampleResult
from agentkit.report import agent_rows, build_report

CODE = "def forward(self, taskInfo):\n    return '42'\n"


def _results(pattern: str) -> list[ExampleResult]:
    """'1' right, '0' wrong, 'u' unscored (the provider failed it)."""
    out = []
    for i, ch in enumerate(pattern):
        error = (
            AgentFailure(kind="provider", message="openai/fake: HTTP 503 (gave up)") if ch == "u" else None
        )
        out.append(
            ExampleResult(
                example_id=f"q{i}", answer=None if error else "42", score=float(ch == "1"), error=error
            )
        )
    return out


def _build(run_dir: Path, *, with_unscored: bool = True) -> dict[str, str]:
    ids: dict[str, str] = {}
    with Archive.create(run_dir, {"task": "gen/arithmetic", "model": "openai/fake"}) as archive:
        done = archive.add_agent("Done", CODE, origin="seed", generation=0)
        archive.record_evaluation(done.id, _eval("1101"), split="search", status="evaluated")
        ids["done"] = done.id
        if with_unscored:
            # The search stored what it had and stopped: no summary until every example has a score.
            waiting = archive.add_agent("Waiting", CODE, origin="seed", generation=0)
            archive.record_results(waiting.id, "search", _results("1uu1"))
            ids["waiting"] = waiting.id
            # agentkit eval --run stores its summary with what it could score, and counts the rest.
            partly = archive.add_agent("Partly", CODE, origin="import", generation=0)
            archive.record_evaluation(partly.id, _eval("11u0"), split="eval", status="evaluated")
            ids["partly"] = partly.id
    return ids


def _eval(pattern: str):  # type: ignore[no-untyped-def]
    from agentkit.records import EvalResult

    results = _results(pattern)
    return EvalResult(
        agent="a", task="gen/arithmetic", split="x", results=results, summary=summarize(results)
    )


def _row(html: str, agent_id: str) -> str:
    """The agent's row in the scores table."""
    scores = html.split('<section id="scores"', 1)[1].split("</section>", 1)[0]
    (row,) = [part for part in scores.split("<tr") if f'href="#code-{agent_id}"' in part]
    return row


def test_unscored_examples_beside_each_score_and_in_a_run_line(tmp_path: Path) -> None:
    ids = _build(tmp_path / "run")
    with Archive.open(tmp_path / "run") as archive:
        html = build_report(archive)
        rows = {r.id: r for r in agent_rows(archive)}
    assert (rows[ids["waiting"]].unscored, rows[ids["waiting"]].waiting) == (2, True)
    assert (rows[ids["partly"]].unscored, rows[ids["partly"]].waiting) == (1, False)
    assert (rows[ids["done"]].unscored, rows[ids["done"]].waiting) == (0, False)
    assert "waiting for 2 unscored example(s)" in _row(html, ids["waiting"])
    assert "1 unscored" in _row(html, ids["partly"]) and "waiting" not in _row(html, ids["partly"])
    assert "unscored" not in _row(html, ids["done"])
    assert "3 example(s) of 2 agent(s) left unscored" in html
    assert "1 agent(s) still waiting for them" in html and "search --resume" in html


def test_no_unscored_line_when_every_example_has_a_score(tmp_path: Path) -> None:
    _build(tmp_path / "run", with_unscored=False)
    with Archive.open(tmp_path / "run") as archive:
        html = build_report(archive)
    assert "unscored (provider failures)" not in html and 'class="unscored"' not in html


def test_show_prints_unscored_counts_in_its_table_and_agent_view(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp_path = tmp_path_factory.mktemp("show")
    from typer.testing import CliRunner

    from agentkit.cli import app

    ids = _build(tmp_path / "run")
    runner = CliRunner()
    table = runner.invoke(app, ["show", str(tmp_path / "run")], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    lines = {agent: next(ln for ln in table.output.splitlines() if ids[agent] in ln) for agent in ids}
    assert "2 (waiting)" in lines["waiting"]
    assert lines["partly"].split()[-3] == "1"  # unscored, cost, parents are the last three cells
    assert "unscored" not in lines["done"] and "waiting" not in lines["done"]
    assert "3 example(s) of 2 agent(s) unscored" in " ".join(table.output.split())
    assert f"agentkitsearch--resume{tmp_path / 'run'}`" in "".join(table.output.split())  # wrapped

    detail = runner.invoke(app, ["show", str(tmp_path / "run"), ids["waiting"]], env={"COLUMNS": "200"})
    assert detail.exit_code == 0, detail.output
    assert "2 example(s) the provider failed" in detail.output and "search --resume" in detail.output
    done = runner.invoke(app, ["show", str(tmp_path / "run"), ids["done"]], env={"COLUMNS": "200"})
    assert "unscored" not in done.output


def test_show_has_no_unscored_column_when_every_example_has_a_score(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp_path = tmp_path_factory.mktemp("show")
    from typer.testing import CliRunner

    from agentkit.cli import app

    _build(tmp_path / "run", with_unscored=False)
    out = CliRunner().invoke(app, ["show", str(tmp_path / "run")], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "unscored" not in out.output
