"""An ADAS archive imported, shown with ADAS's reported scores, then scored here with `agentkit eval --run`:
`show --json` carries both, the report too, and a second evaluation reuses every finished example."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.archive import Archive, RunLock
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]
_EXPR = re.compile(r"Compute the value of this expression: ([-\d\s()+*]+)")

CODE = """def forward(self, taskInfo):
    cot_instruction = "{instruction}"
    cot_agent = LLMAgentBase(['thinking', 'answer'], 'Chain-of-Thought Agent')
    thinking, answer = cot_agent([taskInfo], cot_instruction)
    return answer
"""
ADAS: list[dict[str, Any]] = [
    {
        "thought": "By encouraging the LLM to think step by step, chain-of-thought reasoning helps.",
        "name": "Chain-of-Thought",
        "code": CODE.format(instruction="Please think step by step and then solve the task."),
        "generation": "initial",
        "fitness": "95% Bootstrap Confidence Interval: (22.7%, 38.3%), Median: 30.5%",
        "test_fitness": "95% Bootstrap Confidence Interval: (24.9%, 31.1%), Median: 28.0%",
    },
    {
        "thought": {
            "Insights": "Answering one higher is bold.",
            "Overall Idea": "Add one (WRONG on purpose).",
            "Implementation": "One agent, one instruction.",
        },
        "name": "Off By One",
        "code": CODE.format(instruction="WRONG: solve the task, then add one."),
        "fitness": "95% Bootstrap Confidence Interval: (12.5%, 25.0%), Median: 18.8%",
        "generation": 1,
    },
]


def _solve(request: dict[str, Any]) -> str | None:
    text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    match = _EXPR.search(text)
    if match is None:
        return None
    value = eval(match.group(1).strip(), {"__builtins__": {}})  # our own generated digits and operators
    return json.dumps({"thinking": "worked it out", "answer": str(value + 1 if "WRONG" in text else value)})


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_solve) as srv:
        yield srv


def _agentkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"AGENTKIT_CACHE_DIR": str(cwd / "cache"), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


def _rows(run_dir: Path, cwd: Path) -> dict[str, dict[str, Any]]:
    shown = _agentkit("show", str(run_dir), "--json", cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    table = json.loads(shown.stdout)
    assert table["in_progress"] is None
    return {row["name"]: row for row in table["agents"]}


def test_adas_scores_beside_agentkits_after_eval(server: FakeOpenAIServer, tmp_path: Path) -> None:
    src = tmp_path / "mgsm_gpt3.5_results.json"
    src.write_text(json.dumps(ADAS))
    run_dir = tmp_path / "adas-run"
    imported = _agentkit(
        "import-adas", str(src), "--out", str(run_dir), "--task", "gen/arithmetic", "--json", cwd=tmp_path
    )
    assert imported.returncode == 0, imported.stderr
    assert [a["name"] for a in json.loads(imported.stdout)["imported"]] == ["Chain-of-Thought", "Off By One"]

    # Before evaluation: ADAS's reported scores only.
    rows = _rows(run_dir, tmp_path)
    cot, off = rows["Chain-of-Thought"], rows["Off By One"]
    assert cot["adas"]["fitness"] == pytest.approx(
        {"median": 0.305, "low": 0.227, "high": 0.383, "confidence": 0.95, "text": ADAS[0]["fitness"]}
    )
    assert cot["adas"]["test_fitness"]["median"] == pytest.approx(0.28)
    assert off["adas"]["fitness"]["median"] == pytest.approx(0.188) and off["adas"]["test_fitness"] is None
    assert cot["eval"] is None and off["eval"] is None

    args = ["--model", "openai/fake", "--api-base", server.base_url, "--limit", "6", "--json"]
    first = _agentkit("eval", "--run", str(run_dir), *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    scored = json.loads(first.stdout)
    assert scored["task"] == "gen/arithmetic" and scored["split"] == "eval" and scored["limit"] == 6
    assert [(r["name"], r["n"], r["mean"], r["reused"]) for r in scored["agents"]] == [
        ("Chain-of-Thought", 6, 1.0, 0),
        ("Off By One", 6, 0.0, 0),
    ]
    calls = len(server.requests)
    assert calls == 12

    # After evaluation: agentkit's score beside ADAS's, in the table and in one agent's detail.
    rows = _rows(run_dir, tmp_path)
    cot, off = rows["Chain-of-Thought"], rows["Off By One"]
    assert cot["eval"]["mean"] == 1.0 and cot["eval"]["n"] == 6 and cot["eval"]["low"] < 1.0
    assert off["eval"]["mean"] == 0.0 and off["eval"]["n"] == 6
    assert cot["adas"]["fitness"]["median"] == pytest.approx(0.305)
    assert list(rows) == ["Chain-of-Thought", "Off By One"]  # sorted by agentkit's score
    detail = _agentkit("show", str(run_dir), off["id"], "--json", cwd=tmp_path)
    assert detail.returncode == 0, detail.stderr
    one = json.loads(detail.stdout)
    assert json.loads(one["agent"]["thought"]) == ADAS[1]["thought"]
    assert one["row"]["adas"]["fitness"]["median"] == pytest.approx(0.188) and one["row"]["eval"]["n"] == 6
    table = _agentkit("show", str(run_dir), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "ADAS reported" in table.stdout and "0.30 [0.23,0.38]" in table.stdout

    report = _agentkit("report", str(run_dir), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    html = (run_dir / "report.html").read_text()
    assert (
        "reported by ADAS" in html and "0.305 [0.227, 0.383]" in html and "test 0.280 [0.249, 0.311]" in html
    )
    assert "in-progress" not in html

    # Again, with the same settings: every finished example is reused, none is run again.
    again = _agentkit("eval", "--run", str(run_dir), *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [r["reused"] for r in json.loads(again.stdout)["agents"]] == [6, 6]
    assert len(server.requests) == calls
    with Archive.open(run_dir) as archive:
        for agent in archive.agents():
            assert len(archive.results(agent.id, "eval")) == 6
            assert agent.search_summary is None and agent.test_summary is None  # a search's splits untouched


def test_eval_run_refuses_a_locked_run_and_other_settings(server: FakeOpenAIServer, tmp_path: Path) -> None:
    src = tmp_path / "adas.json"
    src.write_text(json.dumps(ADAS[:1]))
    run_dir = tmp_path / "run"
    assert _agentkit("import-adas", str(src), "--out", str(run_dir), cwd=tmp_path).returncode == 0
    args = ["--model", "openai/fake", "--api-base", server.base_url, "--limit", "2"]
    with RunLock.acquire(run_dir, command="agentkit search --resume run"):
        refused = _agentkit("eval", "--run", str(run_dir), "--task", "gen/arithmetic", *args, cwd=tmp_path)
        shown = _agentkit("show", str(run_dir), cwd=tmp_path)
    assert refused.returncode == 2
    assert f"pid {os.getpid()}" in refused.stderr and "agentkit search --resume run" in refused.stderr
    assert server.requests == []
    assert shown.returncode == 0 and f"run in progress: held by pid {os.getpid()}" in shown.stdout
    # The import named no task: the first evaluation gives it, and the run keeps it.
    done = _agentkit("eval", "--run", str(run_dir), *args, cwd=tmp_path)
    assert done.returncode == 2 and "--task" in done.stderr
    done = _agentkit("eval", "--run", str(run_dir), "--task", "gen/arithmetic", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    other = _agentkit("eval", "--run", str(run_dir), "--task", "gen/boolean", *args, cwd=tmp_path)
    assert other.returncode == 2 and "gen/arithmetic" in other.stderr
    other_model = [a if a != "openai/fake" else "openai/other" for a in args]
    changed = _agentkit("eval", "--run", str(run_dir), *other_model, cwd=tmp_path)
    assert changed.returncode == 2 and "openai/fake" in changed.stderr


def test_eval_run_exits_4_when_an_agent_fails_every_example(server: FakeOpenAIServer, tmp_path: Path) -> None:
    broken = {
        **ADAS[1],
        "name": "Broken",
        "code": "def forward(self, taskInfo):\n    raise ValueError('boom')\n",
    }
    src = tmp_path / "adas.json"
    src.write_text(json.dumps([ADAS[0], broken]))
    run_dir = tmp_path / "adas-run"
    assert (
        _agentkit(
            "import-adas", str(src), "--out", str(run_dir), "--task", "gen/arithmetic", cwd=tmp_path
        ).returncode
        == 0
    )
    args = ["--model", "openai/fake", "--api-base", server.base_url, "--limit", "3"]
    done = _agentkit("eval", "--run", str(run_dir), *args, cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    rows = _rows(run_dir, tmp_path)
    broken_id = rows["Broken"]["id"]
    assert f"1 agent(s) failed every example they were scored on: {broken_id} (Broken)" in done.stderr
    assert f"agentkit show {run_dir} {broken_id}" in done.stderr
    # the scores are stored all the same, the working agent's too
    assert rows["Chain-of-Thought"]["eval"]["mean"] == 1.0 and rows["Broken"]["eval"]["n"] == 3
    # --json prints the evaluation and exits the same way
    again = _agentkit("eval", "--run", str(run_dir), *args, "--json", cwd=tmp_path)
    assert again.returncode == 4 and json.loads(again.stdout)["agents"]
