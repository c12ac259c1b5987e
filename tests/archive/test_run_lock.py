"""One run, one writer: the run directory's flock, who holds it, and its release on exit or death."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentkit.archive import LOCK_NAME, Archive, LockHolder, RunLock, lock_holder
from agentkit.errors import ArchiveError, RunLocked

HOLD = textwrap.dedent(
    """
    import sys, time
    from agentkit.archive import Archive
    archive = Archive.open(sys.argv[1], lock=True)
    print("locked", flush=True)
    time.sleep(600)
    """
)


def _holder_process(run_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.communicate()[1][-2000:]
    return proc


def test_second_writer_is_refused_with_the_holders_details(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with Archive.create(run_dir, {"task": "t"}, lock=True) as writer:
        assert writer.run_lock is not None and writer.run_lock.held
        assert (run_dir / LOCK_NAME).is_file()
        with pytest.raises(RunLocked) as caught:
            Archive.open(run_dir, lock=True)
        err = caught.value
        assert isinstance(err, ArchiveError)
        assert isinstance(err.holder, LockHolder)
        assert err.holder.pid == os.getpid() and err.holder.host == socket.gethostname()
        assert err.holder.command and err.holder.since
        assert err.run_dir == str(run_dir)
        message = str(err)
        assert f"pid {os.getpid()}" in message and socket.gethostname() in message
        assert err.holder.since in message
        # Readers keep working, and see who writes.
        with Archive.open(run_dir, repair_files=False) as reader:
            assert reader.run_lock is None
            assert reader.config == {"task": "t"}
            held = reader.held_by()
            assert held is not None and held.pid == os.getpid()
        writer.add_agent("a", "def forward(self, taskInfo):\n    return 1\n", origin="seed")
    # Closing the writer released the run.
    assert lock_holder(run_dir) is None
    with Archive.open(run_dir, lock=True) as again:
        assert [a.name for a in again.agents()] == ["a"]
    assert json.loads((run_dir / LOCK_NAME).read_text() or "null") is None  # cleared on release


def test_create_takes_the_lock_before_the_database_exists(tmp_path: Path) -> None:
    run_dir = tmp_path / "new"
    run_dir.mkdir()
    with RunLock.acquire(run_dir, command="agentkit sweep cell 3"):
        with pytest.raises(RunLocked, match="agentkit sweep cell 3"):
            Archive.create(run_dir, {"task": "t"}, lock=True)
        assert not Archive.exists(run_dir)
    with Archive.create(run_dir, {"task": "t"}, lock=True):
        pass
    with pytest.raises(ArchiveError, match="already holds"):
        Archive.create(run_dir, {"task": "t"}, lock=True)
    assert lock_holder(run_dir) is None  # a refused create leaves no lock behind


def test_no_lock_file_means_nobody_holds_it(tmp_path: Path) -> None:
    Archive.create(tmp_path / "r", {}).close()
    assert not (tmp_path / "r" / LOCK_NAME).exists()
    assert lock_holder(tmp_path / "r") is None
    assert lock_holder(tmp_path / "missing") is None


def test_sigkilled_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    Archive.create(run_dir, {"task": "t"}).close()
    proc = _holder_process(run_dir)
    try:
        holder = lock_holder(run_dir)
        assert holder is not None and holder.pid == proc.pid
        assert holder.command is not None and "Archive.open" in holder.command
        with pytest.raises(RunLocked, match=f"pid {proc.pid}"):
            Archive.open(run_dir, lock=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The kernel released the lock with the process: the next writer starts at once.
    started = time.monotonic()
    with Archive.open(run_dir, lock=True) as archive:
        assert archive.run_lock is not None
    assert time.monotonic() - started < 5


def test_forked_child_does_not_keep_the_run_locked(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    lock = RunLock.acquire(run_dir)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child outlives the parent's lock
        os.close(read_end)
        os.write(write_end, b"x")
        time.sleep(5)
        os._exit(0)
    try:
        os.close(write_end)
        os.read(read_end, 1)
        lock._forget()  # close without unlocking, as the death of this process would
        # With the child still alive, the run is free: it did not inherit the lock.
        with RunLock.acquire(run_dir, wait_s=0):
            pass
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
