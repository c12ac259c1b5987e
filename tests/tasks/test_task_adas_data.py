"""DROP, GSM-Hard, SVAMP and ASDiv load from ../shared/data, list with their sizes, and every gold answer
of every row scores 1.0 under the task's own scorer."""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli import app
from agentkit.errors import DatasetNotFound, TaskError
from agentkit.tasks import Task, list_tasks, load_task, task_names
from agentkit.tasks._adas import asdiv_answer, number_text
from agentkit.tasks._drop import accepted_answers

SIZES = {"drop": 9536, "gsm-hard": 1319, "svamp": 1000, "asdiv": 2084}


def _golds(task: Task, target: str) -> list[str]:
    return accepted_answers(target) if task.scorer_name == "f1" else [target]


@pytest.mark.parametrize("name", list(SIZES))
def test_every_gold_answer_scores_one(name: str, data_dir: Path) -> None:
    task = load_task(name, data_dir=data_dir)
    assert len(task.examples) == SIZES[name]
    assert len({e.id for e in task.examples}) == SIZES[name]
    assert task.description and task.answer_format
    failures = [
        (e.id, gold)
        for e in task.examples
        for gold in _golds(task, e.target)
        if task.score_example(gold, e) != 1.0
    ]
    assert failures == []


@pytest.mark.parametrize("name", ["gsm-hard", "svamp", "asdiv"])
def test_math_gold_in_answer_sentences_and_wrong_numbers(name: str, data_dir: Path) -> None:
    task = load_task(name, data_dir=data_dir)
    for e in task.examples:
        assert task.score_example(f"Working.\nSo the answer is {e.target}.", e) == 1.0, e.id
        assert task.score_example(f"The answer is {float(e.target) + 1}", e) == 0.0, e.id
        assert task.score_example("I do not know", e) == 0.0, e.id


def test_drop_rows(data_dir: Path) -> None:
    drop = load_task("drop", data_dir=data_dir)
    with gzip.open(data_dir / "drop" / "drop_v0_dev.jsonl.gz", "rt") as handle:
        raw = [json.loads(line) for line in handle]
    assert drop.split == "dev" and drop.scorer_name == "f1"
    assert sum("|" in row["ref_text"] for row in raw) == 3642
    # 67 of those list one answer twice (e.g. "1970" and "  1970"): 3,575 have distinct alternatives
    assert sum(len(e.metadata["answers"]) > 1 for e in drop.examples) == 3575
    for example, row in zip(drop.examples, raw, strict=True):
        assert row["context"].startswith(example.input) and not example.input.endswith("Answer:")
        assert example.input.startswith("Passage: ") and "\nQuestion: " in example.input
        assert row["completion"].strip() in accepted_answers(example.target)
    assert drop.examples[0].id == "drop/dev/0"


def test_gsm_hard_targets_and_tolerance(data_dir: Path) -> None:
    task = load_task("gsm-hard", data_dir=data_dir)
    rows = [json.loads(x) for x in (data_dir / "gsm-hard" / "gsmhardv2.jsonl").read_text().splitlines()]
    assert [float(e.target) for e in task.examples] == [r["target"] for r in rows]
    assert sum("." in e.target for e in task.examples) == 303
    assert all("e" not in e.target.lower() and "code" not in e.metadata for e in task.examples)
    assert task.examples[0].target == "-9867630"
    assert task.score("14053029.67", "14053029.666666666") == 1.0
    assert task.score("14053030", "14053029.666666666") == 0.0  # 0.33 off: beyond the 0.1 tolerance
    assert task.score("0.0017", "0.0016791648") == 1.0
    assert task.score("0", "0.0016791648") == 0.0  # small targets get a relative tolerance
    assert number_text(2.0107e-06) == "0.0000020107"


def test_svamp_questions(data_dir: Path) -> None:
    task = load_task("svamp", data_dir=data_dir)
    raw = json.loads((data_dir / "svamp" / "SVAMP.json").read_text())
    assert task.examples[0].id == "svamp/chal-1"
    assert task.examples[0].input == f"{raw[0]['Body']} {raw[0]['Question']}"
    assert [float(e.target) for e in task.examples] == [r["Answer"] for r in raw]


def test_asdiv_subset_and_grades(data_dir: Path) -> None:
    problems = ET.parse(data_dir / "asdiv" / "ASDiv.xml").getroot().findall(".//Problem")
    assert len(problems) == 2305
    task = load_task("asdiv", data_dir=data_dir)
    kept = {e.id for e in task.examples}
    for p in problems:
        answer = p.findtext("Answer") or ""
        single = re.fullmatch(r"\s*-?\d[\d,]*(\.\d+)?\s*(\([^()]*\))?\s*", answer) is not None
        assert (f"asdiv/{p.get('ID')}" in kept) == single, answer
    assert asdiv_answer("9 (apples)") == "9" and asdiv_answer("3:30 p.m.") is None
    assert asdiv_answer("5 (years old); 15 (years old)") is None
    grades = load_task("asdiv", data_dir=data_dir, grades="3,4")
    assert {e.metadata["grade"] for e in grades.examples} == {"3", "4"}
    assert len(grades.examples) == 1090 and grades.params == {"grades": "3,4"}
    assert len(load_task("asdiv", data_dir=data_dir, grades=3).examples) < 1090
    with pytest.raises(TaskError, match="grades"):
        load_task("asdiv", data_dir=data_dir, grades="7")
    with pytest.raises(TaskError, match="does not take"):
        load_task("svamp", data_dir=data_dir, grades="3")
    with pytest.raises(TaskError, match="no split"):
        load_task("drop", data_dir=data_dir, split="train")


def test_listing_and_names(data_dir: Path) -> None:
    assert {"drop", "gsm-hard", "svamp", "asdiv"} <= set(task_names())
    infos = {i.name: i for i in list_tasks(data_dir=data_dir)}
    assert {n: sum(infos[n].sizes.values()) for n in SIZES} == SIZES
    assert infos["drop"].scorer_name == "f1" and infos["gsm-hard"].scorer_name == "numeric_approx"
    result = CliRunner().invoke(app, ["tasks", "list", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    for name, size in SIZES.items():
        assert re.search(rf"{re.escape(name)}\s+│\s+{size:,}\s+│", result.output), name


def test_missing_data_says_where(tmp_path: Path) -> None:
    for name in ("drop", "svamp", "asdiv", "gsm-hard"):  # HF_HUB_OFFLINE is set by the conftest
        with pytest.raises(DatasetNotFound, match=name):
            load_task(name, data_dir=tmp_path)
    infos = {i.name: i for i in list_tasks(data_dir=tmp_path)}
    assert infos["drop"].source == "missing" and infos["gsm-hard"].source == "hub:reasoning-machines/gsm-hard"
