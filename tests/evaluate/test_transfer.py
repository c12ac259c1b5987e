"""The transfer table: `agentkit bench --tasks gsm8k,gsm-hard,svamp,asdiv --agents RUN:selected,cot`
against the fake server, and `agentkit.evaluate.bench` from Python with a task defined in Python."""

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

import agentkit
from agentkit.archive import Archive
from agentkit.evaluate import Session, bench, resolve_agent, summarize
from agentkit.records import ExampleResult
from agentkit.tasks import Example, load_task
from agentkit.testing import FakeOpenAIServer, model_config_for, requested_fields

SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
MATH = ["gsm8k", "gsm-hard", "svamp", "asdiv"]
LIMIT = 4

# The agent "found by a search": it marks its prompt, and the fake model then errs on every other question.
SLOPPY_CODE = """def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "Sloppy Agent")
    thinking, answer = agent([taskInfo], "SLOPPY:: Solve it quickly.")
    return answer
"""


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not (SHARED_DATA / "gsm-hard").is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def golds(data_dir: Path) -> dict[str, tuple[str, int]]:
    """Question text -> (gold answer, position in its task) for the first LIMIT examples of each task."""
    out: dict[str, tuple[str, int]] = {}
    for name in MATH:
        for i, example in enumerate(load_task(name, data_dir=data_dir).examples[:LIMIT]):
            out[example.input] = (example.target, i)
    return out


@pytest.fixture
def math_server(golds: dict[str, tuple[str, int]]) -> Iterator[FakeOpenAIServer]:
    def reply(request: dict[str, Any]) -> str:
        text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
        found = [v for q, v in golds.items() if q in text]
        gold, index = found[0] if found else ("0", 0)
        answer = gold
        if "SLOPPY::" in text and index % 2 == 1:
            answer = str(int(float(gold)) + 7)
        return json.dumps({f: (answer if "answer" in f else "working") for f in requested_fields(request)})

    with FakeOpenAIServer(reply) as server:
        yield server


def _make_run(run_dir: Path) -> None:
    """A finished run whose selected agent (best search-split lower bound) is the sloppy one."""
    with Archive.create(run_dir, {"task": "mgsm", "model": "openai/fake"}) as archive:
        weak = archive.add_agent("Weak", SLOPPY_CODE.replace("SLOPPY", "WEAK"), origin="seed", generation=0)
        found = archive.add_agent(
            "Found on MGSM", SLOPPY_CODE, thought="Be quick.", origin="meta", generation=1
        )
        for agent_id, right in ((weak.id, 3), (found.id, 9)):
            results = [
                ExampleResult(example_id=f"q{i}", answer="1", score=1.0 if i < right else 0.0, latency_s=0.1)
                for i in range(10)
            ]
            with archive.transaction():
                archive.record_results(agent_id, "search", results)
                archive.record_summary(agent_id, "search", summarize(results))
                archive.set_status(agent_id, "evaluated")


@pytest.mark.sandbox
def test_transfer_table_over_the_four_math_tasks(
    math_server: FakeOpenAIServer, data_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "mgsm-run"
    _make_run(run_dir)
    out_dir = tmp_path / "transfer"
    done = subprocess.run(
        [
            sys.executable, "-m", "agentkit", "bench", "--tasks", ",".join(MATH),
            "--agents", f"{run_dir}:selected,cot", "--model", "openai/fake",
            "--api-base", math_server.base_url, "--data-dir", str(data_dir),
            "--limit", str(LIMIT), "--out", str(out_dir),
        ],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env=os.environ | {"AGENTKIT_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # One table: agents as rows, the four tasks as columns, chain of thought the baseline.
    table = done.stdout
    assert "Transfer: 2 agents on 4 tasks, 4 examples each" in table
    assert all(name in table for name in MATH) and "Chain-of-Thought (baseline)" in table
    assert "Found on MGSM" in table and "p=0.500" in table

    saved = json.loads((out_dir / "results.json").read_text())
    assert saved["tasks"] == MATH and saved["baseline"] == "Chain-of-Thought" and saved["limit"] == LIMIT
    rows = {(r["task"], r["agent"]): r for r in saved["rows"]}
    assert len(rows) == 8
    for task in MATH:
        cot, found = rows[(task, "Chain-of-Thought")], rows[(task, "Found on MGSM")]
        assert cot["n"] == found["n"] == LIMIT
        assert cot["score"] == 1.0 and "vs_baseline_diff" not in cot
        assert found["score"] == 0.5  # wrong on questions 1 and 3 of each task
        assert found["ci_low"] < 0.5 < found["ci_high"]
        # Paired against chain of thought: 2 discordant pairs, both for cot -> McNemar p = 0.5.
        assert found["vs_baseline_diff"] == -0.5 and found["vs_baseline_p"] == 0.5
        assert found["vs_baseline_test"] == "mcnemar_exact"
    assert re.search(r"gsm-hard,Found on MGSM,4,0\.5,", (out_dir / "results.csv").read_text())
    # 2 agents x 4 tasks x 4 questions, one call each.
    assert len(math_server.requests) == 32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "gsm8k", "--tasks", "gsm8k,svamp"], "one of them"),
        ([], "one of them"),
        (["--tasks", "gsm8k,svamp", "--opt", "seed=1"], "cannot be used with --tasks"),
        (["--tasks", "gsm8k,gsm8k"], "names a task twice"),
    ],
)
def test_bench_refuses_unclear_task_lists(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from agentkit.cli import app
    from agentkit.errors import ConfigError

    result = CliRunner().invoke(app, ["bench", "--agents", "cot", "--model", "openai/never-called", *args])
    assert isinstance(result.exception, ConfigError) and message in str(result.exception)


def test_run_agents_by_reference(tmp_path: Path) -> None:
    from agentkit.cli._transfer import resolve_agent_refs

    _make_run(tmp_path / "run")
    selected, by_name, seed = resolve_agent_refs(f"{tmp_path}/run:selected, {tmp_path}/run:Weak ,cot")
    assert selected.name == "Found on MGSM" and "SLOPPY::" in selected.code
    assert selected.source == f"{tmp_path}/run:selected"
    assert by_name.name == "Weak" and seed.source == "cot"
    with pytest.raises(agentkit.ArchiveError, match="no agent with id or name 'Nobody'"):
        resolve_agent_refs(f"{tmp_path}/run:Nobody")
    # a run that is not there is said to be missing (it was "no agent named 'nope:selected'")
    with pytest.raises(
        agentkit.ConfigError, match=r"nope:selected: .*nope does not exist; RUN:selected names"
    ):
        resolve_agent_refs(f"{tmp_path}/nope:selected")
    with pytest.raises(agentkit.ConfigError, match="is not a run directory"):
        resolve_agent_refs(f"{tmp_path}:selected")


async def test_bench_from_python_with_a_python_task(math_server: FakeOpenAIServer, tmp_path: Path) -> None:
    def exact(answer: str, example: Example) -> float:
        return float(answer.strip() == example.target)

    svamp = load_task("svamp", data_dir=SHARED_DATA).examples[:LIMIT]
    task = agentkit.Task.from_records(
        [{"input": e.input, "target": e.target} for e in svamp], scorer=exact, name="q"
    )
    sloppy = resolve_agent("cot").model_copy(update={"name": "sloppy", "code": SLOPPY_CODE, "source": "x"})
    async with Session.open(
        model_config_for(math_server), isolation="trusted", cache_dir=tmp_path / "c"
    ) as s:
        table = await bench(
            [sloppy, resolve_agent("cot")],
            [task],
            client=s.client,
            model=s.model,
            runner=s.runner,
            limit=LIMIT,
        )
    assert table.baseline == "Chain-of-Thought" and table.agents == ["sloppy", "Chain-of-Thought"]
    entry = table.task("py/q")
    assert entry.row("Chain-of-Thought").scores == [1.0] * LIMIT and entry.row("sloppy").scores == [
        1.0,
        0.0,
        1.0,
        0.0,
    ]
    assert entry.row("sloppy").vs_baseline is not None and entry.row("Chain-of-Thought").vs_baseline is None
