"""Reading agent files: seeds, exports and the files a run keeps in its agents/ folder."""

from __future__ import annotations

from pathlib import Path

from agentkit.evaluate import read_agent_file, resolve_agent

ARCHIVE_FILE = '''"""Agent a0004: Careful Adder

generation: 1
origin: meta
status: evaluated
parents: a0001, a0002
code hash: 6892e80836edeac0
search score: 1.000 [1.000, 1.000] on 10 examples (error rate 0%)

Thought:
    Add carefully.
    Then check.
"""

def forward(self, taskInfo):
    return taskInfo.content
'''


def test_a_runs_agent_file_keeps_its_name_and_thought(tmp_path: Path) -> None:
    path = tmp_path / "001_a0004_careful_adder.py"
    path.write_text(ARCHIVE_FILE)
    spec = read_agent_file(path)
    assert spec.name == "Careful Adder"  # not the file stem
    assert spec.thought == "Add carefully.\nThen check."
    assert spec.code == ARCHIVE_FILE


def test_seed_files_still_read_name_and_thought() -> None:
    spec = resolve_agent("cot")
    assert spec.name == "Chain-of-Thought"
    assert spec.thought.startswith("Asking the model to write out its reasoning")


def test_a_binary_file_is_one_clear_error(tmp_path: Path) -> None:
    import pytest

    from agentkit.errors import AgentCodeError

    path = tmp_path / "agent.py"
    path.write_bytes(b"\xff\xfe not python")
    with pytest.raises(AgentCodeError, match="not UTF-8"):
        read_agent_file(path)


def test_a_file_without_forward_is_refused_before_any_example(tmp_path: Path) -> None:
    import pytest

    from agentkit.errors import AgentCodeError

    for body in ("", "x = 1\n", "forward = 3\n", "def forwards(self, taskInfo):\n    return 1\n"):
        path = tmp_path / "agent.py"
        path.write_text(body)
        with pytest.raises(AgentCodeError, match=r"agent.py: defines no function forward\(self, taskInfo\)"):
            read_agent_file(path)
    for body in (
        "def forward(self, taskInfo):\n    return 1\n",
        "from helpers import forward\n",
        "forward = make_forward()\n",
    ):
        path.write_text(body)
        assert read_agent_file(path).code == body
    path.write_text("x = 1\n")
    assert read_agent_file(path, require_forward=False).code == "x = 1\n"
