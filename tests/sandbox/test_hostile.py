"""Hostile agent code is contained and reported, and the examples around it still succeed."""

from __future__ import annotations

import asyncio
import os
import resource
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import (
    NO_CALL_AGENT,
    ONE_CALL_AGENT,
    REPO,
    has_seccomp,
    instant_llm,
    level_for,
    require_seccomp,
)

from agentkit.sandbox import AgentRun, Sandbox

pytestmark = pytest.mark.sandbox

SEALED_TEST_DATA = REPO.parent / "shared" / "data" / "gsm8k" / "test.jsonl"


def needs_file_isolation(isolation: str, sandbox: Sandbox) -> None:
    # Process levels hide the host's files only where the kernel offers Landlock.
    if isolation != "bwrap" and not sandbox.landlock:
        pytest.skip(
            f"{level_for(isolation)} without Landlock does not hide the host's files (see LEVEL_NOTES)"
        )


def needs_process_and_network_blocking(isolation: str) -> None:
    if level_for(isolation) == "process":  # bwrap blocks the network without seccomp too
        require_seccomp(
            isolation, "plain 'process' isolation blocks neither sockets nor fork (see LEVEL_NOTES)"
        )


def needs_other_uid(isolation: str) -> None:
    if isolation == "process" and os.geteuid() != 0:
        pytest.skip("without bwrap and without root the agent runs as our own user")


async def run_between_good_ones(sandbox: Sandbox, code: str, question: str) -> AgentRun:
    """Run hostile code with well-behaved examples before, beside and after it; return its run."""
    before = await sandbox.run(ONE_CALL_AGENT, "before", answer_format="", llm=instant_llm)
    hostile, beside = await asyncio.gather(
        sandbox.run(code, question, answer_format="", llm=instant_llm),
        sandbox.run(ONE_CALL_AGENT, "beside", answer_format="", llm=instant_llm),
    )
    after = await sandbox.run(ONE_CALL_AGENT, "after", answer_format="", llm=instant_llm)
    for good, q in ((before, "before"), (beside, "beside"), (after, "after")):
        assert good.error is None, good.error
        assert good.answer == f"42|{q}"
    return hostile


READ_FILES = """
def forward(self, taskInfo):
    report = []
    for path in taskInfo.content.split("|"):
        try:
            with open(path, "rb") as fh:
                report.append("READ " + path + " " + fh.read(300).decode("utf-8", "replace"))
        except Exception as exc:
            report.append("DENIED " + path + " " + type(exc).__name__)
    return "\\n".join(report)
"""


async def test_cannot_read_project_files(make_sandbox, isolation: str) -> None:
    sandbox = await make_sandbox()
    needs_file_isolation(isolation, sandbox)
    targets = [
        REPO / "pyproject.toml",
        REPO / "agentkit" / "errors.py",
        Path("/proc/1/root") / str(REPO).lstrip("/") / "pyproject.toml",
        Path("/proc/self/root") / str(REPO).lstrip("/") / "pyproject.toml",
        Path.home() / ".bashrc",
    ]
    run = await run_between_good_ones(sandbox, READ_FILES, "|".join(map(str, targets)))
    assert run.error is None, run.error
    assert "READ" not in (run.answer or "")
    assert (run.answer or "").count("DENIED") == len(targets)


async def test_cannot_read_sealed_test_data(make_sandbox, isolation: str) -> None:
    if not SEALED_TEST_DATA.exists():
        pytest.skip(f"{SEALED_TEST_DATA} is not on this machine")
    sandbox = await make_sandbox()
    needs_file_isolation(isolation, sandbox)
    secret_line = SEALED_TEST_DATA.read_text(encoding="utf-8").splitlines()[0][:60]
    targets = [SEALED_TEST_DATA, Path("/proc/1/cwd") / "../shared/data/gsm8k/test.jsonl"]
    run = await run_between_good_ones(sandbox, READ_FILES, "|".join(map(str, targets)))
    assert run.error is None, run.error
    assert "READ" not in (run.answer or "")
    assert secret_line not in (run.answer or "") + run.stdout


ENV_SECRETS = """
import os

def forward(self, taskInfo):
    seen = [k + "=" + v for k, v in os.environ.items()]
    try:
        pids = os.listdir("/proc")
    except OSError:  # Landlock hides /proc
        pids = [str(os.getppid()), "1"]
    for pid in pids:
        if pid.isdigit():
            try:
                with open("/proc/" + pid + "/environ", "rb") as fh:
                    seen.append(fh.read().decode("utf-8", "replace"))
            except OSError:
                pass
    print("\\n".join(seen)[:20000])
    return "\\n".join(seen)[:50000]
"""


async def test_cannot_see_environment_secrets(make_sandbox, isolation: str, monkeypatch) -> None:
    needs_other_uid(isolation)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AGENTKIT_TEST_TOKEN", "tok-hidden-123")
    sandbox = await make_sandbox()
    run = await run_between_good_ones(sandbox, ENV_SECRETS, "q")
    assert run.error is None, run.error
    everything = (run.answer or "") + run.stdout
    assert "PATH=" in everything  # the agent did list its environment
    assert "sk-secret" not in everything
    assert "tok-hidden-123" not in everything
    assert "OPENAI_API_KEY" not in everything


SOCKETS = """
import socket

def forward(self, taskInfo):
    port = int(taskInfo.content)
    results = []
    attempts = [
        (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", port)),
        (socket.AF_INET6, socket.SOCK_STREAM, ("::1", port)),
        (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", port)),
    ]
    for family, kind, address in attempts:
        try:
            s = socket.socket(family, kind)
            s.settimeout(2)
            s.connect(address)
            s.sendall(b"hello host")
            results.append("CONNECTED")
        except Exception as exc:
            results.append(type(exc).__name__)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
        results.append("CONNECTED")
    except Exception as exc:
        results.append(type(exc).__name__)
    return " ".join(results)
"""


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real TCP listener on host loopback (non-blocking, so accept() shows whether anyone came)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


async def test_cannot_connect_to_host_loopback(make_sandbox, isolation: str, listener: socket.socket) -> None:
    needs_process_and_network_blocking(isolation)
    sandbox = await make_sandbox()
    port = listener.getsockname()[1]
    run = await run_between_good_ones(sandbox, SOCKETS, str(port))
    assert run.error is None, run.error
    assert "CONNECTED" not in (run.answer or "")
    readable, _, _ = select.select([listener], [], [], 0.5)
    assert readable == [], "the listener received a connection from the sandbox"
    if has_seccomp(isolation):
        assert (run.answer or "").split() == ["PermissionError"] * 4


FORK_BOMB = """
import os

def forward(self, taskInfo):
    made, errors = 0, set()
    for _ in range(500):
        try:
            pid = os.fork()
        except OSError as exc:
            errors.add(type(exc).__name__)
            continue
        if pid == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        made += 1
    try:
        import subprocess
        subprocess.run(["/bin/true"], check=True)
        errors.add("EXEC-OK")
    except Exception as exc:
        errors.add("exec:" + type(exc).__name__)
    try:
        os.posix_spawn("/bin/true", ["/bin/true"], {})
        errors.add("SPAWN-OK")
    except Exception as exc:
        errors.add("spawn:" + type(exc).__name__)
    return "made %d %s" % (made, " ".join(sorted(errors)))
"""


async def test_fork_bomb_is_refused(make_sandbox, isolation: str) -> None:
    needs_process_and_network_blocking(isolation)
    require_seccomp(isolation, "without seccomp only RLIMIT_NPROC and the time limits stop a fork bomb")
    sandbox = await make_sandbox()
    run = await run_between_good_ones(sandbox, FORK_BOMB, "q")
    assert run.error is None, run.error
    assert run.answer == "made 0 PermissionError exec:PermissionError spawn:PermissionError"


SIGNALS = """
import os, signal, threading

def forward(self, taskInfo):
    allowed, refused = [], 0
    try:
        targets = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    except OSError:  # Landlock hides /proc
        targets = set(range(1, 4096))
    targets |= {1, os.getppid()}
    for pid in sorted(targets - {os.getpid()}):
        try:
            os.kill(pid, 0)  # signal 0: checks permission, delivers nothing
            allowed.append(pid)
        except ProcessLookupError:
            pass
        except PermissionError:
            refused += 1
    try:
        signal.pthread_kill(threading.main_thread().ident, 0)  # tgkill
    except PermissionError:
        refused += 1
    except Exception:
        pass
    return "allowed %s refused %d" % (allowed, refused)
"""


async def test_cannot_signal_other_processes(make_sandbox, isolation: str) -> None:
    require_seccomp(isolation, "without seccomp only the uid (and bwrap's pid namespace) limit signals")
    sandbox = await make_sandbox()
    run = await run_between_good_ones(sandbox, SIGNALS, "q")
    assert run.error is None, run.error
    assert (run.answer or "").startswith("allowed [] refused ")


async def test_allocating_8_gb_is_a_memory_failure(make_sandbox) -> None:
    sandbox = await make_sandbox()
    big_block = "def forward(self, taskInfo):\n    return str(len(bytearray(8 * 1024 ** 3)))\n"
    run = await run_between_good_ones(sandbox, big_block, "q")
    assert run.answer is None
    assert run.error is not None and run.error.kind == "memory", run.error
    growing = (
        "def forward(self, taskInfo):\n"
        "    hoard = []\n"
        "    while True:\n"
        "        hoard.append(bytearray(50 * 1024 * 1024))\n"
    )
    run = await run_between_good_ones(sandbox, growing, "q")
    assert run.error is not None and run.error.kind == "memory", run.error


async def test_endless_loops_time_out(make_sandbox) -> None:
    # CPU-bound loops meet the CPU limit (the wall limit is far away, so host load cannot blur it);
    # a sleeping agent uses no CPU and meets the wall limit.
    cpu_box = await make_sandbox(workers=2, wall_time_s=60.0, cpu_time_s=1.0)
    wall_box = await make_sandbox(workers=1, wall_time_s=2.0, cpu_time_s=30.0)
    spin = "def forward(self, taskInfo):\n    while True:\n        pass\n"
    stubborn = (
        "def forward(self, taskInfo):\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except BaseException:\n"
        "            pass\n"
    )
    sleep = "import time\n\ndef forward(self, taskInfo):\n    time.sleep(1000)\n"
    spun, swallowed, slept = await asyncio.gather(
        cpu_box.run(spin, "q", answer_format="", llm=instant_llm),
        cpu_box.run(stubborn, "q", answer_format="", llm=instant_llm),
        wall_box.run(sleep, "q", answer_format="", llm=instant_llm),
    )
    for run in (spun, swallowed, slept):
        assert run.answer is None
        assert run.error is not None and run.error.kind == "timeout", run.error
    assert spun.error is not None and "CPU" in spun.error.message
    assert "forward" in spun.error.traceback  # the loop is visible in the traceback
    assert swallowed.error is not None and "CPU" in swallowed.error.message  # killed at the hard limit
    assert slept.error is not None and "wall" in slept.error.message
    assert slept.duration_s < 2.0 + 5.0
    for box in (cpu_box, wall_box):
        after = await box.run(ONE_CALL_AGENT, "after", answer_format="", llm=instant_llm)
        assert after.answer == "42|after"


async def test_printing_1_gb_hits_the_output_limit(make_sandbox) -> None:
    sandbox = await make_sandbox(max_output_bytes=100_000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flood = (
        "import sys\n\n"
        "def forward(self, taskInfo):\n"
        "    chunk = 'x' * (1 << 20)\n"
        "    for _ in range(1024):\n"
        "        sys.stdout.write(chunk)\n"
        "    return 'printed'\n"
    )
    run = await run_between_good_ones(sandbox, flood, "q")
    assert run.answer is None
    assert run.error is not None and run.error.kind == "output_limit", run.error
    assert 100_000 <= len(run.stdout) <= 100_000 + 200
    stderr_flood = flood.replace("sys.stdout", "sys.stderr")
    run = await run_between_good_ones(sandbox, stderr_flood, "q")
    assert run.error is not None and run.error.kind == "output_limit"
    huge_answer = "def forward(self, taskInfo):\n    return 'y' * 5_000_000\n"
    run = await run_between_good_ones(sandbox, huge_answer, "q")
    assert run.error is not None and run.error.kind == "output_limit"
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kb < 200 * 1024, f"the host grew by {grown_kb} KiB"


WRITE_FILES = """
import os

def forward(self, taskInfo):
    report = []
    for path in taskInfo.content.split("|"):
        try:
            with open(path, "w") as fh:
                fh.write("pwned")
            report.append("WROTE " + path)
        except Exception as exc:
            report.append("DENIED " + path + " " + type(exc).__name__)
    tmp = os.environ.get("TMPDIR", "/tmp")
    try:
        with open(os.path.join(tmp, "scratch.txt"), "w") as fh:
            fh.write("fine")
        report.append("TMP-OK")
    except Exception as exc:
        report.append("TMP-DENIED " + type(exc).__name__)
    try:
        with open(os.path.join(tmp, "big.bin"), "wb") as fh:
            fh.write(b"x" * 3_000_000)
        report.append("BIG-OK")
    except OSError as exc:
        report.append("BIG-DENIED " + type(exc).__name__)
    return "\\n".join(report)
"""


async def test_cannot_write_outside_tmp(make_sandbox, isolation: str) -> None:
    needs_other_uid(isolation)
    sandbox = await make_sandbox(max_file_bytes=1_000_000)
    targets = [
        REPO / "sandbox_was_here.txt",
        REPO / "agentkit" / "sandbox_was_here.py",
        Path("/sandbox_was_here.txt"),
        Path("/usr/sandbox_was_here.txt"),
        Path("/etc/sandbox_was_here.txt"),
    ]
    try:
        run = await run_between_good_ones(sandbox, WRITE_FILES, "|".join(map(str, targets)))
        assert run.error is None, run.error
        answer = run.answer or ""
        assert "WROTE" not in answer
        assert answer.count("DENIED /") == len(targets)
        assert "TMP-OK" in answer
        assert "BIG-DENIED OSError" in answer  # RLIMIT_FSIZE
        for target in targets:
            assert not target.exists(), f"the agent wrote {target}"
    finally:
        for target in targets:
            if target.exists():
                target.unlink()


async def test_module_globals_and_files_do_not_leak_to_the_next_example(make_sandbox) -> None:
    sandbox = await make_sandbox(workers=1)
    poison = """
import builtins, math, os, sys

def forward(self, taskInfo):
    math.pi = 3.0
    builtins.LEAKED = "yes"
    sys.modules["json"] = None
    os.environ["LEAKED_ENV"] = "1"
    with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "leak.txt"), "w") as fh:
        fh.write("left behind")
    os.mkdir(os.path.join(os.environ.get("TMPDIR", "/tmp"), "locked"))
    os.chmod(os.path.join(os.environ.get("TMPDIR", "/tmp"), "locked"), 0)
    return "poisoned"
"""
    probe = """
import builtins, math, os, sys

def forward(self, taskInfo):
    tmp = os.environ.get("TMPDIR", "/tmp")
    return repr((math.pi, getattr(builtins, "LEAKED", None), sys.modules.get("json") is not None,
                 os.environ.get("LEAKED_ENV"), sorted(os.listdir(tmp))))
"""
    clean = await sandbox.run(probe, "q", answer_format="", llm=instant_llm)
    poisoned = await sandbox.run(poison, "q", answer_format="", llm=instant_llm)
    assert poisoned.answer == "poisoned", poisoned.error
    after = await sandbox.run(probe, "q", answer_format="", llm=instant_llm)
    assert after.error is None, after.error
    assert after.answer == clean.answer == repr((3.141592653589793, None, True, None, []))


async def test_hostile_mix_runs_concurrently_with_good_examples(make_sandbox, isolation: str) -> None:
    sandbox = await make_sandbox(workers=3, wall_time_s=4.0, cpu_time_s=2.0, max_output_bytes=50_000)
    spin = "def forward(self, taskInfo):\n    while True:\n        pass\n"
    big = "def forward(self, taskInfo):\n    return len(bytearray(8 * 1024 ** 3))\n"
    flood = "def forward(self, taskInfo):\n    while True:\n        print('x' * 10000)\n"
    broken = "def forward(self, taskInfo):\n    return undefined_name\n"
    bad_syntax = "def forward(self taskInfo):\n    pass\n"
    cases: list[tuple[str, str, str | None]] = [
        (spin, "q", "timeout"),
        (big, "q", "memory"),
        (flood, "q", "output_limit"),
        (broken, "q", "exception"),
        (bad_syntax, "q", "syntax"),
    ]
    if level_for(isolation) != "process":
        cases.append((SOCKETS, "9", None))
    if has_seccomp(isolation):
        cases.append((FORK_BOMB, "q", None))
    if isolation == "bwrap":
        cases.append((READ_FILES, str(REPO / "pyproject.toml"), None))
    good = [(ONE_CALL_AGENT, f"good{i}", None) for i in range(12)]
    mixed = [item for pair in zip(good, cases + [None] * len(good), strict=False) for item in pair if item]
    runs = await asyncio.gather(
        *(sandbox.run(code, q, answer_format="", llm=instant_llm) for code, q, _ in mixed)
    )
    for (code, question, kind), run in zip(mixed, runs, strict=True):
        if code is ONE_CALL_AGENT:
            assert run.error is None and run.answer == f"42|{question}", run
        elif kind is not None:
            assert run.error is not None and run.error.kind == kind, (kind, run.error)
        else:
            assert run.error is None, run.error
            assert "CONNECTED" not in (run.answer or "")
            assert "READ" not in (run.answer or "")
            assert "OK" not in (run.answer or "")
    final = await sandbox.run(NO_CALL_AGENT, "end", answer_format="", llm=instant_llm)
    assert final.answer == "echo:end"
