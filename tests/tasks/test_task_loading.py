"""Loading by name: custom JSONL, errors that say where and what to do, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.errors import AgentkitError, DatasetFormatError, DatasetNotFound, TaskError
from agentkit.tasks import list_tasks, load_task


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_custom_jsonl_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "capitals.jsonl",
        [
            json.dumps({"input": "Capital of France?", "target": "Paris", "level": 1}),
            "",
            json.dumps({"input": "Capital of Italy?", "target": "Rome", "level": 2}),
        ],
    )
    task = load_task(f"jsonl:{path}")
    assert task.name == f"jsonl:{path}"
    assert [e.id for e in task.examples] == ["capitals/0", "capitals/1"]
    assert task.examples[1].target == "Rome" and task.examples[1].metadata == {"level": 2}
    assert task.scorer_name == "exact"
    assert task.score("So the answer is Paris.", "Paris") == 1.0
    assert task.score("paris", "Paris") == 0.0


def test_custom_jsonl_options(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "sums.jsonl",
        [json.dumps({"q": "1+1?", "a": 2, "key": "x1"}), json.dumps({"q": "2+2?", "a": 4, "key": "x2"})],
    )
    task = load_task(
        f"jsonl:{path}",
        input_field="q",
        target_field="a",
        id_field="key",
        scorer="numeric",
        description="Tiny sums.",
        answer_format="A number.",
    )
    assert [(e.id, e.input, e.target) for e in task.examples] == [("x1", "1+1?", "2"), ("x2", "2+2?", "4")]
    assert task.score("The answer is 4.0", "4") == 1.0
    assert task.description == "Tiny sums." and task.answer_format == "A number."
    assert task.params["scorer"] == "numeric"


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.jsonl",
        [
            json.dumps({"input": "a", "target": "b"}),
            "",
            json.dumps({"input": "c", "target": "d"}),
            '{"input": "e",',
        ],
    )
    with pytest.raises(DatasetFormatError) as info:
        load_task(f"jsonl:{path}")
    assert info.value.path == str(path) and info.value.line == 4
    assert f"{path}:4" in str(info.value)


def test_jsonl_lines_that_are_not_text_or_not_json_say_where(tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(json.dumps({"input": "a", "target": "b"}).encode() + b'\n{"input": "\xff\xfe"}\n')
    with pytest.raises(DatasetFormatError, match=r"not UTF-8 text \(byte 0xff at column 12\)") as info:
        load_task(f"jsonl:{path}")
    assert info.value.line == 2
    path.write_text('{"input": "a", "target": "b"}\n{"input": "tab\there", "target": "c"}\n')
    with pytest.raises(DatasetFormatError) as info:
        load_task(f"jsonl:{path}")
    assert str(info.value).endswith("invalid JSON: Invalid control character (column 15)")
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        (json.dumps({"input": "c"}), "missing field 'target'"),
        (json.dumps(["not", "an", "object"]), "JSON object"),
        (json.dumps({"input": "c", "target": 5}), "field 'target' is a number here but a string on line 1"),
        ('{"input": "c", "target": "d"', r"invalid JSON: Expecting ',' delimiter \(column 29\)"),
        ('{"input": "c", "target": "d", "input": "e"}', "the key 'input' appears twice in one object"),
    ],
)
def test_bad_rows_name_the_line(tmp_path: Path, second_line: str, message: str) -> None:
    path = _write(tmp_path / "rows.jsonl", [json.dumps({"input": "a", "target": "b"}), second_line])
    with pytest.raises(DatasetFormatError, match=message) as info:
        load_task(f"jsonl:{path}")
    assert info.value.line == 2


def test_a_missing_field_lists_the_lines_fields_and_the_option_that_names_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "qa.jsonl", [json.dumps({"question": "1+1?", "answer": "2"})])
    with pytest.raises(DatasetFormatError) as info:
        load_task(f"jsonl:{path}")
    assert str(info.value).endswith(
        "missing field 'input' (the line has 'question', 'answer'); name the field with the task option "
        "input_field=NAME (on the command line: --opt input_field=NAME)"
    )
    # and the option named there reads it
    assert load_task(f"jsonl:{path}", input_field="question", target_field="answer").examples[0].target == "2"


def test_duplicate_ids(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dup.jsonl",
        [
            json.dumps({"input": "a", "target": "b", "id": "k"}),
            json.dumps({"input": "c", "target": "d", "id": "k"}),
        ],
    )
    with pytest.raises(DatasetFormatError, match="duplicate id 'k'") as info:
        load_task(f"jsonl:{path}", id_field="id")
    assert info.value.line == 2


def test_malformed_gsm8k_and_bbh_files(tmp_path: Path) -> None:
    (tmp_path / "gsm8k").mkdir()
    _write(
        tmp_path / "gsm8k" / "test.jsonl",
        [
            json.dumps({"question": "q", "answer": "x\n#### 1"}),
            json.dumps({"question": "q2", "answer": "no final"}),
        ],
    )
    with pytest.raises(DatasetFormatError, match="####") as info:
        load_task("gsm8k", data_dir=tmp_path)
    assert info.value.line == 2
    (tmp_path / "bbh").mkdir()
    (tmp_path / "bbh" / "navigate.json").write_text(
        '{"examples": [\n{"input": "q", "target": "Yes"},\n oops]}'
    )
    with pytest.raises(DatasetFormatError) as bbh_info:
        load_task("bbh/navigate", data_dir=tmp_path)
    assert bbh_info.value.line == 3
    (tmp_path / "mgsm").mkdir()
    (tmp_path / "mgsm" / "mgsm_en.tsv").write_text("q1\t1\nq2 without answer\n")
    with pytest.raises(DatasetFormatError, match="2 tab-separated columns") as mgsm_info:
        load_task("mgsm", data_dir=tmp_path)
    assert mgsm_info.value.line == 2


def test_tiny_local_layout_loads(tmp_path: Path) -> None:
    (tmp_path / "gsm8k").mkdir()
    _write(tmp_path / "gsm8k" / "train.jsonl", [json.dumps({"question": "q", "answer": "so\n#### 1,234"})])
    task = load_task("gsm8k", split="train", data_dir=tmp_path)
    assert task.examples[0].target == "1234" and task.source == str(tmp_path / "gsm8k" / "train.jsonl")


@pytest.mark.parametrize("name", ["gsm8k", "mgsm", "bbh/navigate"])
def test_missing_data_is_one_clear_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFound) as info:
        load_task(name, data_dir=tmp_path / "nowhere")
    text = str(info.value)
    assert "--data-dir" in text and "AGENTKIT_DATA_DIR" in text and str(tmp_path / "nowhere") in text


def test_missing_data_via_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFound, match="--data-dir"):
        load_task("bbh/snarks")


def test_unknown_names_and_options() -> None:
    with pytest.raises(TaskError, match="Did you mean bbh/navigate"):
        load_task("bbh/navigat")
    with pytest.raises(TaskError, match="unknown task"):
        load_task("squad")
    with pytest.raises(TaskError, match="does not take option"):
        load_task("gen/arithmetic", colour="red")
    with pytest.raises(TaskError, match="no split 'validation'"):
        load_task("gsm8k", split="validation")
    with pytest.raises(TaskError, match="difficulty must be 1 to 5"):
        load_task("gen/boolean", difficulty=9)
    with pytest.raises(TaskError, match="unknown scorer"):
        load_task("jsonl:/nonexistent.jsonl", scorer="fuzzy")
    with pytest.raises(TaskError, match="no file"):
        load_task("jsonl:/nonexistent.jsonl")
    with pytest.raises(TaskError, match="without a path"):  # was "no file at ." (the working directory)
        load_task("jsonl:")
    assert issubclass(TaskError, AgentkitError)


def test_list_tasks(data_dir: Path) -> None:
    infos = {i.name: i for i in list_tasks(data_dir=data_dir)}
    assert infos["gsm8k"].sizes == {"test": 1319, "train": 7473}
    assert infos["mgsm"].sizes == {"test": 250}
    bbh = [i for n, i in infos.items() if n.startswith("bbh/")]
    assert len(bbh) == 27 and sum(i.sizes["test"] for i in bbh) == 6511
    assert infos["gen/dyck"].source == "generated"
    assert all(i.available for n, i in infos.items())


def test_list_tasks_without_data(tmp_path: Path) -> None:
    infos = {i.name: i for i in list_tasks(data_dir=tmp_path)}
    assert infos["gsm8k"].source == "hub:openai/gsm8k" and not infos["gsm8k"].available  # offline in tests
    assert infos["mgsm"].source == "missing"
    assert infos["gen/arithmetic"].available


def test_a_file_rewritten_with_its_old_time_is_read_anew(tmp_path: Path) -> None:
    """datasets knows a local file by path and modification time; a copy made with `cp -p` (same time,
    new rows) must not be scored from the cache of the old rows."""
    import os

    path = _write(tmp_path / "v.jsonl", [json.dumps({"input": "What is 1+1?", "target": "2"})])
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert [e.target for e in load_task(f"jsonl:{path}").examples] == ["2"]
    _write(path, [json.dumps({"input": f"What is {n}+{n}?", "target": str(2 * n)}) for n in (5, 6, 7)])
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert [e.target for e in load_task(f"jsonl:{path}").examples] == ["10", "12", "14"]
