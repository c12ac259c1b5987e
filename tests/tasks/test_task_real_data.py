"""Every built-in dataset loads from ../shared/data and scores its own gold answers at 100%."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentkit.tasks import Task, load_task, task_names
from agentkit.tasks._registry import option_texts

BBH = [n for n in task_names() if n.startswith("bbh/")]
_LETTER = re.compile(r"^\(([A-Z])\)$")


def _number_forms(t: str) -> list[str]:
    n = int(t)
    forms = [t, f"{t}.0", f"{t}.", f"Answer: {t}", f"\\boxed{{{t}}}", f"So the answer is {t}.", f"#### {t}"]
    forms += [f"The answer is {n:,}.", f"Step 1: think.\nSo the answer is {t}."]
    if n >= 0:
        forms += [f"${t}", f"The answer is ${n:,}.00."]
    return forms


def accepted_forms(task: Task, target: str, question: str) -> list[str]:
    """Every way of writing the gold answer that the task's scorer promises to accept."""
    common = [target, f"So the answer is {target}.", f"The answer is {target}", f"Answer: {target}"]
    kind = task.scorer_name
    if kind == "numeric":
        return _number_forms(target)
    if kind == "multiple_choice":
        m = _LETTER.match(target)
        if m is None:  # one of the 3 rows whose target is an option's text
            return [*common, target.lower(), *task.extra_answers[target]]
        letter = m.group(1)
        text = option_texts(question).get(target, "")
        return [
            *common,
            letter,
            f"{letter})",
            f"The answer is {letter}",
            f"So the answer is ({letter}).",
            f"**{target}**",
            f"{target} {text}",
        ]
    if kind == "label":
        return [*common, target.lower(), target.upper(), target.capitalize()]
    if kind == "words":
        return [*common, ", ".join(target.split()), "  ".join(target.split())]
    if kind == "dyck":
        return [*common, target.replace(" ", "")]
    raise AssertionError(f"no forms for scorer {kind}")


def wrong_answers(task: Task, target: str, question: str) -> list[str]:
    kind = task.scorer_name
    if kind == "numeric":
        n = int(target)
        return [str(n + 1), f"So the answer is {n - 1}.", "I do not know"] + ([str(-n)] if n else [])
    if kind == "multiple_choice":
        # Options of the question when present (one snarks row is cut off after "(A)"), else any letter.
        candidates = [*option_texts(question), "(A)", "(B)"]
        other = next(k for k in candidates if k != target and k not in task.extra_answers.get(target, []))
        return [other, other.strip("()"), f"So the answer is {other}.", "I do not know"]
    if kind == "label":
        flip = {
            "yes": "no",
            "no": "yes",
            "true": "false",
            "false": "true",
            "valid": "invalid",
            "invalid": "valid",
        }
        return [flip[target.lower()], f"So the answer is {flip[target.lower()]}.", "maybe"]
    if kind == "words":
        words = target.split()
        out = [" ".join(words[:-1]) or "zzz"]
        if len(set(words)) > 1:
            out.append(" ".join(reversed(words)))
        return out
    if kind == "dyck":
        return [target[:-1].strip() or "(", target + " )"]
    raise AssertionError(kind)


def _check_all(task: Task) -> None:
    assert task.examples
    for ex in task.examples:
        for form in accepted_forms(task, ex.target, ex.input):
            assert task.score(form, ex.target) == 1.0, (ex.id, ex.target, form)
        for bad in wrong_answers(task, ex.target, ex.input):
            assert task.score(bad, ex.target) == 0.0, (ex.id, ex.target, bad)


@pytest.mark.parametrize("name", BBH)
def test_bbh_task_loads_and_scores_gold(name: str, data_dir: Path) -> None:
    task = load_task(name, data_dir=data_dir)
    raw = json.loads((data_dir / "bbh" / f"{name.removeprefix('bbh/')}.json").read_text())["examples"]
    assert [e.target for e in task.examples] == [r["target"] for r in raw]
    assert [e.input for e in task.examples] == [r["input"] for r in raw]
    assert [e.id for e in task.examples] == [f"{name}/{i}" for i in range(len(raw))]
    assert task.description and task.answer_format
    _check_all(task)


def test_bbh_count_and_total(data_dir: Path) -> None:
    assert len(BBH) == 27
    assert sum(len(load_task(n, data_dir=data_dir).examples) for n in BBH) == 6511


def test_bbh_text_target_rows(data_dir: Path) -> None:
    movies = load_task("bbh/movie_recommendation", data_dir=data_dir)
    assert movies.extra_answers == {"Monsters, Inc": ["(A)"]}
    assert movies.score("So the answer is (A).", "Monsters, Inc") == 1.0
    assert movies.score("(B)", "Monsters, Inc") == 0.0
    names = load_task("bbh/ruin_names", data_dir=data_dir)
    assert names.extra_answers == {"dearth, wind, & fire": ["(I)"], "rita, sue and bob poo": ["(C)"]}
    assert names.score("rita, sue and bob poo", "rita, sue and bob poo") == 1.0
    assert names.score("(A)", "rita, sue and bob poo") == 0.0  # (A) is the unedited "rita"


def test_case_rules_follow_the_task(data_dir: Path) -> None:
    sports = load_task("bbh/sports_understanding", data_dir=data_dir)
    navigate = load_task("bbh/navigate", data_dir=data_dir)
    assert {e.target for e in sports.examples} == {"yes", "no"}
    assert {e.target for e in navigate.examples} == {"Yes", "No"}
    assert sports.score("Yes", "yes") == 1.0 and navigate.score("yes", "Yes") == 1.0


@pytest.mark.parametrize("split", ["test", "train"])
def test_gsm8k_loads_and_scores_gold(split: str, data_dir: Path) -> None:
    task = load_task("gsm8k", split=split, data_dir=data_dir)
    lines = (data_dir / "gsm8k" / f"{split}.jsonl").read_text().splitlines()
    assert len(task.examples) == len(lines) == {"test": 1319, "train": 7473}[split]
    assert task.split == split and task.examples[17].id == f"gsm8k/{split}/17"
    for ex, line in zip(task.examples, lines, strict=True):
        row = json.loads(line)
        assert ex.input == row["question"]
        assert ex.target == row["answer"].split("####")[-1].strip().replace(",", "")
        assert re.fullmatch(r"-?\d+", ex.target)
    _check_all(task)
    assert task.examples[0].metadata["solution"].endswith("#### 72" if split == "train" else "#### 18")


def test_gsm8k_comma_answers(data_dir: Path) -> None:
    task = load_task("gsm8k", data_dir=data_dir)
    raw = [json.loads(x)["answer"] for x in (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()]
    with_commas = [i for i, a in enumerate(raw) if "," in a.split("####")[-1]]
    assert len(with_commas) == 14
    for i in with_commas:
        gold_as_written = raw[i].split("####")[-1].strip()
        assert task.score(f"The answer is {gold_as_written}.", task.examples[i].target) == 1.0


def test_mgsm_loads_and_matches_gsm8k(data_dir: Path) -> None:
    mgsm = load_task("mgsm", data_dir=data_dir)
    gsm = load_task("gsm8k", data_dir=data_dir)
    assert len(mgsm.examples) == 250
    assert "0 to 249" in mgsm.description
    assert [e.input for e in mgsm.examples] == [e.input for e in gsm.examples[:250]]
    assert [e.target for e in mgsm.examples] == [e.target for e in gsm.examples[:250]]
    assert mgsm.examples[3].id == "mgsm/test/3"
    _check_all(mgsm)


def test_ids_are_stable_across_loads(data_dir: Path) -> None:
    a = load_task("bbh/navigate", data_dir=data_dir)
    b = load_task("bbh/navigate", data_dir=data_dir)
    assert [e.id for e in a.examples] == [e.id for e in b.examples]
    assert a.get("bbh/navigate/3").input == b.examples[3].input


def test_env_var_points_at_data(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_DATA_DIR", str(data_dir))
    assert load_task("bbh/snarks").source == str(data_dir / "bbh" / "snarks.json")
