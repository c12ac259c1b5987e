"""`agentkit tasks list` and `agentkit tasks show` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agentkit.cli import app
from agentkit.errors import DatasetNotFound

runner = CliRunner()


def test_list(data_dir: Path) -> None:
    result = runner.invoke(app, ["tasks", "list", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    for name in ("gsm8k", "mgsm", "bbh/tracking_shuffled_objects_seven_objects", "gen/shuffled-objects"):
        assert name in result.output
    assert "test 1,319 / train 7,473" in result.output
    assert "unlimited" in result.output and "local" in result.output
    assert result.output.count("bbh/") == 27


def test_list_without_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tasks", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "hub:openai/gsm8k" in result.output and "missing" in result.output


def test_show_bbh(data_dir: Path) -> None:
    result = runner.invoke(app, ["tasks", "show", "bbh/dyck_languages", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "description" in result.output and "answer format" in result.output
    for i in range(3):
        assert f"bbh/dyck_languages/{i}" in result.output
    assert "bbh/dyck_languages/3" not in result.output
    assert "Input: [ [" in result.output  # brackets are printed, not parsed as markup


def test_show_gsm8k_train(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["tasks", "show", "gsm8k", "--split", "train", "-n", "1", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "gsm8k/train/0" in result.output and "7,473 examples" in result.output


def test_show_generated_with_options() -> None:
    result = runner.invoke(app, ["tasks", "show", "gen/word-sorting", "-o", "seed=4", "-o", "difficulty=1"])
    assert result.exit_code == 0, result.output
    assert "gen/word-sorting/s4-d1/2" in result.output and "seed=4, difficulty=1" in result.output


def test_show_missing_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tasks", "show", "gsm8k", "--data-dir", str(tmp_path)])
    assert isinstance(result.exception, DatasetNotFound)
    message = str(result.exception)
    assert message.startswith(f"no data for gsm8k (test): gsm8k/test.jsonl is not under {tmp_path}")
    assert "Pass --data-dir DIR (data_dir= in Python) or set AGENTKIT_DATA_DIR" in message


def test_show_bad_option() -> None:
    result = runner.invoke(app, ["tasks", "show", "gen/dyck", "-o", "seed"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output
