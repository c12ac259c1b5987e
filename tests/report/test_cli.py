"""The show / report / export / import-adas commands, end to end through typer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from agentkit.cli import app
from agentkit.evaluate import read_agent_file

runner = CliRunner()


def test_show_json_and_table(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, ids = run
    res = runner.invoke(app, ["show", str(run_dir), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["selected"] == ids["Self-Refine Critic"]
    assert len(data["agents"]) == 5
    res = runner.invoke(app, ["show", str(run_dir)])
    assert res.exit_code == 0 and "Self-Refine" in res.stdout
    res = runner.invoke(app, ["show", str(run_dir), "Broken Indexer", "--json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["failure"]["error_kinds"] == {"exception": 5}
    res = runner.invoke(app, ["show", str(run_dir), ids["Chain of Thought"]])
    assert res.exit_code == 0 and "def forward" in res.stdout


def test_report_export_import(run: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    run_dir, _ = run
    res = runner.invoke(app, ["report", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(run_dir / "report.html")
    out = tmp_path / "my_agent.py"
    res = runner.invoke(app, ["export", str(run_dir), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    assert read_agent_file(out).name == "Self-Refine Critic"
    src = tmp_path / "adas.json"
    src.write_text(
        json.dumps(
            [
                {
                    "name": "A",
                    "thought": "t",
                    "code": "def forward(self, taskInfo):\n    return 1\n",
                    "fitness": "Median: 10%",
                },
                7,
            ]
        )
    )
    res = runner.invoke(app, ["import-adas", str(src), "--out", str(tmp_path / "imp"), "--task", "gsm8k"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(tmp_path / "imp")
    assert "skipped entry 1" in res.stderr


def test_errors_are_one_line(tmp_path: Path) -> None:
    from agentkit.errors import ArchiveError

    res = runner.invoke(app, ["show", str(tmp_path / "nope")])
    assert isinstance(res.exception, ArchiveError)
    assert str(res.exception) == f"run directory {tmp_path / 'nope'} does not exist"
    # What the user sees: that message as one line, exit status 2, no traceback.
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "show", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: run directory {tmp_path / 'nope'} does not exist\n"
