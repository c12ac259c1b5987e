"""`export`: a standalone agent file that reads back through the agent-file parser and runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agentkit.archive import Archive
from agentkit.errors import AgentCodeError, ArchiveError
from agentkit.evaluate import read_agent_file
from agentkit.report import export_agent, strip_module_docstring


def test_export_selected_by_default(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, ids = run
    result = export_agent(run_dir)
    assert result.path == run_dir / "best.py" and result.selected
    assert result.agent_id == ids["Self-Refine Critic"]
    spec = read_agent_file(result.path)
    assert spec.name == "Self-Refine Critic"
    assert spec.thought.startswith("Let a critic check the answer and refine it twice.")
    for fact in (
        "task: gen/arithmetic",
        "agent model: openai/fake",
        "meta model: openai/fake-meta",
        "search score: 0.900 [",
        "on 20 examples",
        "sealed test score: 0.850 [",
        f"run: {run_dir.resolve()}",
        f"agent: {ids['Self-Refine Critic']}, generation 1",
        "exported: ",
    ):
        assert fact in spec.thought, fact
    tree = ast.parse(spec.code)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["forward"]


def test_export_named_agent_replaces_its_docstring(run: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    run_dir, _ = run
    out = tmp_path / "apps" / "cot_agent.py"
    result = export_agent(run_dir, "Chain of Thought", out=out)
    assert result.path == out and not result.selected
    text = out.read_text()
    assert text.count("name: ") == 1  # the seed's own docstring was replaced, not stacked
    spec = read_agent_file(out)
    assert spec.name == "Chain of Thought"
    assert "sealed test score: 0.750" in spec.thought


def test_export_hostile_name_and_thought_stay_in_the_docstring(
    run: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    run_dir, ids = run
    with Archive.open(run_dir) as archive:
        archive.update_agent(
            ids["Direct"], name='Tricky """ name \\', thought='ends with a quote"""\nimport os'
        )
    out = export_agent(run_dir, ids["Direct"], out=tmp_path / "t.py").path
    tree = ast.parse(out.read_text())
    assert len(tree.body) == 2  # docstring + forward: nothing escaped into code
    spec = read_agent_file(out)
    assert spec.name == 'Tricky """ name \\'
    assert 'ends with a quote"""\nimport os' in spec.thought


def test_export_errors(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "r", {"task": "t"}) as archive:
        archive.add_agent("Bad", "def forward(self, taskInfo:\n", status="failed")
    with pytest.raises(ArchiveError, match="no agent has a search-split score"):
        export_agent(tmp_path / "r")
    with pytest.raises(AgentCodeError, match="does not parse"):
        export_agent(tmp_path / "r", "Bad", out=tmp_path / "bad.py")
    with Archive.open(tmp_path / "r") as archive:  # a proposal whose reply held no code
        archive.add_agent("Empty", "", status="failed")
    with pytest.raises(AgentCodeError, match="has no forward function"):
        export_agent(tmp_path / "r", "Empty", out=tmp_path / "empty.py")
    assert not (tmp_path / "empty.py").exists()
    with pytest.raises(ArchiveError):
        export_agent(tmp_path / "missing")


def test_strip_module_docstring() -> None:
    assert strip_module_docstring('"""doc"""\nx = 1\n') == "x = 1\n"
    assert strip_module_docstring("x = 1\n") == "x = 1\n"
    assert strip_module_docstring('# c\n"""a\nb"""\n\n\ndef f():\n    pass\n') == "# c\ndef f():\n    pass\n"


def test_exported_agent_runs_with_load_agent(run: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    import agentkit
    from agentkit.testing import FakeOpenAIServer, model_config_for

    run_dir, _ = run
    path = export_agent(run_dir, out=tmp_path / "my_agent.py").path
    with FakeOpenAIServer() as server:
        with agentkit.load_agent(path, model=model_config_for(server), trusted=True, cache=False) as agent:
            reply = agent("What is 6 * 7?")
        assert server.requests, "the agent made no model call"
    assert reply.error is None, reply.error
    assert reply.answer == "fake"
    assert reply.usage.llm_calls >= 2


def test_export_says_a_hostile_name_without_its_control_characters(
    run: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    import subprocess
    import sys

    run_dir, ids = run
    with Archive.open(run_dir) as archive:
        archive.update_agent(ids["Direct"], name="\x1b[31mRed\x1b[0m agent")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentkit",
            "export",
            str(run_dir),
            ids["Direct"],
            "-o",
            str(tmp_path / "r.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr and "exported \\x1b[31mRed\\x1b[0m agent" in done.stderr
    from agentkit.report import write_report

    html = write_report(run_dir).read_text(encoding="utf-8")
    assert "\x1b" not in html and "\\x1b[31mRed" in html


def test_the_usage_lines_of_an_export_run_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run on a JSONL task with named fields, served by its own endpoint: the lines in the exported
    file's docstring load that task with its options and call that endpoint, pasted unchanged."""
    import json
    import os
    import re

    from agentkit.testing import FakeOpenAIServer

    data = tmp_path / "arith.jsonl"
    data.write_text(json.dumps({"question": "What is 2 + 2?", "answer": "4"}) + "\n")
    code = (
        "def forward(self, taskInfo):\n    return LLMAgentBase(['answer'], 'A')([taskInfo], 'Answer.')[0]\n"
    )
    with FakeOpenAIServer() as server:
        settings = {
            "task": f"jsonl:{data}",
            "task_options": {"input_field": "question", "target_field": "answer"},
            "model": "openai/fake",
            "api_base": server.base_url,
        }
        with Archive.create(tmp_path / "run", {"search": settings}) as archive:
            agent = archive.add_agent("Answerer", code, generation=1, origin="meta")
        path = export_agent(tmp_path / "run", agent.id, out=tmp_path / "app" / "my_agent.py").path
        usage = read_agent_file(path).thought.split("Use it in an app")[1]
        snippet = "\n".join(line[4:] for line in usage.splitlines() if line.startswith("    "))
        assert re.search(
            r"task=agentkit\.load_task\('jsonl:.*', input_field='question', target_field='answer'\)", snippet
        )
        assert f"agentkit.ModelConfig(model='openai/fake', api_base='{server.base_url}')" in snippet
        before = len(server.requests)
        cwd = os.getcwd()
        os.chdir(path.parent)  # the snippet names the file as it sits beside the app
        try:
            exec(compile(snippet, "usage", "exec"), {})
        finally:
            os.chdir(cwd)
        assert len(server.requests) > before
    assert capsys.readouterr().out.strip() == "fake"
