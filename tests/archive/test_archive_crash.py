"""Durability: a writer killed with SIGKILL leaves a consistent archive; two writers can share one."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
from pathlib import Path

from agentkit.archive import Archive

WRITER = Path(__file__).with_name("archive_writer.py")
EXAMPLES = 40


def _writer(run_dir: Path, count: int, tag: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(run_dir), str(count), str(EXAMPLES), tag, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_consistent(archive: Archive, expected_done: dict[str, int]) -> None:
    assert archive.integrity_check() == []
    agents = archive.agents()
    for agent in agents:
        # Each agent was written with its whole batch in one transaction: all of it or none of it.
        assert len(archive.results(agent.id, "search")) == EXAMPLES, agent.id
        assert agent.search_summary is not None and agent.status == "evaluated"
    for tag, done in expected_done.items():
        assert sum(a.name.startswith(f"{tag} ") for a in agents) == done
    # Every file present is whole, and the set of files is exactly one per agent.
    files = sorted(archive.agents_dir.glob("*.py"))
    for f in files:
        ast.parse(f.read_text())
    assert len(files) == len(agents)


def test_sigkill_mid_transaction_loses_nothing_committed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    Archive.create(run_dir, {"task": "crash"}).close()
    proc = _writer(run_dir, 10_000, "w")
    committed: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        kind, agent_id = line.split()
        if kind == "committed":
            committed.append(agent_id)
        elif len(committed) >= 12:
            # The writer is now inside a transaction: kill it there.
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with Archive.open(run_dir) as archive:
        ids = [a.id for a in archive.agents()]
        assert ids[: len(committed)] == committed  # nothing committed was lost
        assert len(ids) - len(committed) <= 1  # at most the transaction in flight, whole
        done = archive.get_state("done_w")
        assert done == len(ids)  # the checkpoint moved with the data it describes
        _assert_consistent(archive, {"w": done})
        written = archive.rewrite_agent_files()
        assert len(written) == len(ids)
        _assert_consistent(archive, {"w": done})


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    Archive.create(run_dir, {"task": "concurrent"}).close()
    procs = [_writer(run_dir, 25, tag, "wait") for tag in ("left", "right")]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:  # both are open and waiting: start them together
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with Archive.open(run_dir) as archive:
        ids = [a.id for a in archive.agents()]
        assert len(ids) == len(set(ids)) == 50
        assert archive.state() == {"done_left": 25, "done_right": 25}
        _assert_consistent(archive, {"left": 25, "right": 25})
