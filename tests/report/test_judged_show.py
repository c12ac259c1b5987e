"""The judge's rationales, per example, in `agentkit show RUN AGENT` and in the report's agent details,
after a judged evaluation into a run (`agentkit eval --run --judge-model`) against the fake server;
model-written text (an answer, a rationale) is escaped in the HTML."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkit.archive import Archive
from agentkit.cli import app
from agentkit.errors import ConfigError
from agentkit.report import write_report
from agentkit.testing import FakeOpenAIServer, requested_fields

cli = CliRunner()
PARROT = """
def forward(self, taskInfo):
    agent = LLMAgentBase(["answer"], "Parrot")
    (answer,) = agent([taskInfo], "Answer.")
    return answer
"""
HOSTILE = "<script>alert('judge')</script> the capital is right"
RATIONALES = {"Lima": "Names Lima, the capital of Peru.", "Lyon": HOSTILE, "<b>Oslo</b>": "Oslo it is."}


def _reply(body: dict[str, Any]) -> str:
    """Agents say what follows SAY: in their question; the judge grades by the answer it is shown."""
    messages = body.get("messages") or []
    system, user = str(messages[0].get("content", "")), str(messages[-1].get("content", ""))
    if system.startswith("You grade one answer"):
        said = next(a for a in RATIONALES if json.dumps(a) in user)
        score = 9 if said != "Lyon" else 3
        return json.dumps({"rationale": RATIONALES[said], "score": str(score)})
    said = user.split("SAY:", 1)[1].split("\n\nAnswer.")[0].strip()
    return json.dumps({f: said for f in requested_fields(body) or ["answer"]})


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_reply) as srv:
        yield srv


def _judged_run(tmp_path: Path, server: FakeOpenAIServer) -> tuple[Path, list[str]]:
    questions = tmp_path / "capitals.jsonl"
    rows = [
        ("Capital of Peru?", "Lima"),
        ("Capital of France?", "Lyon"),
        ("Capital of Norway?", "<b>Oslo</b>"),
    ]
    questions.write_text("".join(json.dumps({"input": f"{q} SAY: {a}"}) + "\n" for q, a in rows))
    run = tmp_path / "run"
    with Archive.create(run, {"kind": "adas-import"}) as archive:
        archive.add_agent("Parrot", PARROT, thought="Repeat.", origin="import")
    common = [
        "eval", "--run", str(run), "--task", f"jsonl:{questions}", "--opt", "scorer=judge",
        "--opt", "rubric=Names the capital.", "--model", "openai/fake", "--api-base", server.base_url,
        "--isolation", "trusted", "--no-cache",
    ]  # fmt: skip
    return run, common


def test_rationales_in_show_and_the_report(tmp_path: Path, server: FakeOpenAIServer) -> None:
    run, common = _judged_run(tmp_path, server)
    missing = cli.invoke(app, common)
    assert isinstance(missing.exception, ConfigError) and "give --judge-model" in str(missing.exception)
    done = cli.invoke(app, [*common, "--judge-model", "openai/fake-judge", "--judge-samples", "1", "--json"])
    assert done.exit_code == 0, done.output
    with Archive.open(run) as archive:
        assert archive.config["eval"]["judge"] == "openai/fake-judge"

    shown = cli.invoke(app, ["show", str(run), "a0001"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "judged examples (3)" in shown.stdout
    assert "Names Lima, the capital of Peru." in shown.stdout and "0.90" in shown.stdout
    assert HOSTILE in shown.stdout  # a terminal shows it as text
    data = json.loads(cli.invoke(app, ["show", str(run), "a0001", "--json"]).stdout)
    judged = {j["answer"]: j for j in data["judged"]}
    assert judged["Lyon"]["rationales"] == [HOSTILE] and judged["Lyon"]["score"] == pytest.approx(0.3)
    assert judged["Lima"]["judge_model"] == "openai/fake-judge" and judged["Lima"]["split"] == "eval"

    html = write_report(run).read_text()
    assert "Judged examples (3; judge openai/fake-judge)" in html
    assert "Names Lima, the capital of Peru." in html and "Oslo it is." in html
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;judge&#x27;)&lt;/script&gt;" in html
    assert "<b>Oslo</b>" not in html and "&lt;b&gt;Oslo&lt;/b&gt;" in html  # the answer, too


def test_long_rationales_are_clipped(tmp_path: Path) -> None:
    from agentkit.records import ExampleResult, Judgement
    from agentkit.report._judged import RATIONALE_CHARS, judged_examples

    with Archive.create(tmp_path / "run", {}) as archive:
        agent = archive.add_agent("Parrot", PARROT, origin="import")
        long = "because " * 400
        judgement = Judgement(score=0.5, scores=[0.5], rationales=[long], model="m", samples=1)
        archive.record_results(
            agent.id,
            "eval",
            [
                ExampleResult(example_id="q1", answer="x" * 5000, score=0.5, judgement=judgement),
                ExampleResult(example_id="q2", answer="y", score=1.0),  # scored without a judge: not listed
            ],
        )
        (one,) = judged_examples(archive, archive.agent(agent.id))
    assert one.example_id == "q1" and len(one.rationales[0]) < RATIONALE_CHARS + 50 < len(long)
    assert "more characters cut" in one.rationales[0]
    assert len(one.answer) < 5000
