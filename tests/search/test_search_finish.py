"""What `agentkit search` prints when it ends, including a Ctrl-C while it writes the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer

from agentkit.cli import _search
from agentkit.search import SearchOutcome

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flat_config_run"


def _outcome(run_dir: Path) -> SearchOutcome:
    return SearchOutcome(
        run_dir=str(run_dir),
        status="finished",
        generations_done=1,
        agents=2,
        agents_by_status={"evaluated": 2},
        reason="all generations done",
    )


def test_ctrl_c_while_the_report_is_written_says_how_to_write_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per message
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)

    def interrupted(_run_dir: object) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr("agentkit.report.write_report", interrupted)
    with pytest.raises(typer.Exit) as info:
        _search._finish(_outcome(run_dir), as_json=False)
    assert info.value.exit_code == _search.EXIT_INTERRUPTED
    out = capsys.readouterr().out
    assert "finished after 1 generation;" in out
    assert f"interrupted while writing the report; write it with: agentkit report {run_dir}\n" in out
    assert not (run_dir / "report.html").exists()


def test_a_finished_search_prints_where_its_report_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    outcome = _outcome(run_dir).model_copy(
        update={"spent": {"calls": 10, "tokens": 900, "cost_usd": 0.0, "unpriced_calls": 10}}
    )
    _search._finish(outcome, as_json=False)  # no exit: the search finished
    out = capsys.readouterr().out
    assert f"report: {run_dir / 'report.html'}\n" in out
    # no call had a price: the cost is unknown, not $0 (show and the report say n/a)
    assert "spent 10 calls, 900 tokens, cost unknown (no model it called has a known price)" in out
    assert "$0.0000" not in out
    assert (run_dir / "report.html").is_file()


def test_the_cost_line_counts_priced_calls_and_names_the_rest() -> None:
    assert _search._cost_text({"calls": 12, "cost_usd": 0.25, "unpriced_calls": 2}) == (
        "$0.2500 (and 2 calls to models with no known price: their cost is unknown)"
    )
    assert _search._cost_text({"calls": 12, "cost_usd": 0.25, "unpriced_calls": 0}) == "$0.2500"
