"""The worker pool: a few warm workers (about one per core), each running many examples side by side in
their own children, started as examples arrive; per-example isolation as strong as one worker each."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from sandbox_helpers import NO_CALL_AGENT, ONE_CALL_AGENT, field_values, instant_llm, live_descendants

from agentkit.sandbox import Sandbox
from agentkit.sandbox._pool import WorkerProcess

pytestmark = pytest.mark.sandbox


def require_shared_workers(sandbox: Sandbox) -> None:
    if sandbox.worker_capacity == 1:
        pytest.skip("this kernel cannot keep children of one worker apart (no Landlock): one example each")


def host_children() -> set[int]:
    """Live direct children of this process (the worker processes, bwrap's or python's)."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] not in ("Z", "X"):
                found.add(int(entry))
    return found


async def test_worker_count_does_not_follow_concurrency(make_sandbox) -> None:
    """48 examples in flight at once run on at most the configured 2 worker processes."""
    before = host_children()
    sandbox = await make_sandbox(workers=2, max_examples=48)
    require_shared_workers(sandbox)
    crowd, arrived = asyncio.Event(), 0
    peak_children = 0

    async def gathering_llm(request: dict[str, Any]) -> dict[str, Any]:
        # Every example waits here until all 48 are in flight together.
        nonlocal arrived, peak_children
        arrived += 1
        if arrived == 48:
            peak_children = len(host_children() - before)
            crowd.set()
        await crowd.wait()
        return field_values(request)

    async with asyncio.timeout(120):
        runs = await asyncio.gather(
            *(sandbox.run(ONE_CALL_AGENT, f"q{i}", answer_format="", llm=gathering_llm) for i in range(48))
        )
    assert [r.answer for r in runs] == [f"42|q{i}" for i in range(48)]
    assert sandbox.workers_started <= 2
    assert 1 <= peak_children <= 2  # the process listing agrees with the pool's own count
    assert len(sandbox.worker_pids) <= 2


async def test_first_result_comes_before_the_other_workers_start(make_sandbox, monkeypatch) -> None:
    """Examples run as soon as the first worker is up: here no other worker may even finish starting
    until a first result is back (were the pool to wait for all its workers, this would never end)."""
    sandbox = await make_sandbox(workers=3)
    require_shared_workers(sandbox)
    first_result = asyncio.Event()
    order: list[str] = []
    start = WorkerProcess.start

    async def held_start(self: WorkerProcess, **kwargs: Any) -> dict[str, Any]:
        await first_result.wait()
        ready = await start(self, **kwargs)
        order.append("worker")
        return ready

    monkeypatch.setattr(WorkerProcess, "start", held_start)

    async def one(i: int) -> str | None:
        run = await sandbox.run(NO_CALL_AGENT, str(i), answer_format="", llm=instant_llm)
        if not first_result.is_set():
            order.append("result")
            first_result.set()
        return run.answer

    async with asyncio.timeout(120):
        answers = await asyncio.gather(*(one(i) for i in range(12)))
        while sandbox.workers_started < 3:  # the others did start, once there was a result
            await asyncio.sleep(0.01)
    assert answers == [f"echo:{i}" for i in range(12)]
    assert order[0] == "result" and order.count("worker") == 2


async def test_hang_crash_and_hog_beside_good_examples_in_one_worker(make_sandbox) -> None:
    """In one shared worker, a hanging, a crashing and a memory-hungry example each fail alone, with
    their own kind, while good examples beside them finish; the worker lives on."""
    sandbox = await make_sandbox(workers=1, wall_time_s=3.0, memory_mb=256)
    require_shared_workers(sandbox)
    [worker] = sandbox.worker_pids
    hang = "import time\n\ndef forward(self, taskInfo):\n    time.sleep(1000)\n"
    crash = "import ctypes\n\ndef forward(self, taskInfo):\n    ctypes.string_at(0)\n"
    hog = "def forward(self, taskInfo):\n    return len(bytearray(1024 ** 3))\n"
    exits = "import os\n\ndef forward(self, taskInfo):\n    os._exit(3)\n"
    bad = [(hang, "timeout"), (crash, "killed"), (hog, "memory"), (exits, "killed")]
    good = [ONE_CALL_AGENT] * 12

    async def slow_llm(request: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return field_values(request)

    runs = await asyncio.gather(
        *(sandbox.run(code, "b", answer_format="", llm=instant_llm) for code, _ in bad),
        *(sandbox.run(code, f"g{i}", answer_format="", llm=slow_llm) for i, code in enumerate(good)),
    )
    for (_, kind), run in zip(bad, runs, strict=False):
        assert run.answer is None and run.error is not None and run.error.kind == kind, (kind, run.error)
    for i, run in enumerate(runs[len(bad) :]):
        assert run.error is None and run.answer == f"42|g{i}", run
    assert sandbox.worker_pids == [worker] and sandbox.workers_started == 1
    after = await sandbox.run(NO_CALL_AGENT, "after", answer_format="", llm=instant_llm)
    assert after.answer == "echo:after"


WRITER = """
import os

def forward(self, taskInfo):
    with open(os.path.join(os.environ["TMPDIR"], "secret.txt"), "w") as fh:
        fh.write("SECRET-" + taskInfo.content)
    LLMAgentBase(["answer"], "wait")([taskInfo], "hold me")  # held until the reader is done
    return "wrote " + os.environ["TMPDIR"]
"""

READER = """
import os, signal

def forward(self, taskInfo):
    mine = os.environ["TMPDIR"]
    parent = os.path.dirname(mine)
    seen = []
    try:
        seen.append("listed:" + ",".join(os.listdir(parent)))
    except OSError:
        pass
    for i in range(1, 200):
        path = os.path.join(parent, "x%d" % i, "secret.txt")
        if path.startswith(mine + os.sep):
            continue
        for attempt in (lambda: open(path).read(), lambda: open(path, "a").write("x"), lambda: os.unlink(path)):
            try:
                seen.append("%s:%r" % (path, attempt()))
            except OSError:
                pass
    for pid in range(2, 400):
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
                seen.append("killed %d" % pid)
            except OSError:
                pass
    return "|".join(seen) or "nothing"
"""


async def test_children_sharing_a_worker_cannot_reach_each_other(make_sandbox) -> None:
    """What makes sharing a worker safe: a child cannot list, read, change or remove another running
    child's files, nor signal it."""
    sandbox = await make_sandbox(workers=1)
    require_shared_workers(sandbox)
    reader_done = asyncio.Event()

    async def held_llm(request: dict[str, Any]) -> dict[str, Any]:
        await reader_done.wait()
        return field_values(request)

    writer = asyncio.create_task(sandbox.run(WRITER, "w1", answer_format="", llm=held_llm))
    await asyncio.sleep(0)  # the writer's task goes to the worker first
    async with asyncio.timeout(60):
        reader = await sandbox.run(READER, "r", answer_format="", llm=instant_llm)
        reader_done.set()
        wrote = await writer
    assert wrote.error is None and (wrote.answer or "").startswith("wrote "), wrote.error
    assert reader.error is None, reader.error
    assert reader.answer == "nothing"
    # the writer's child is reaped too: its outcome goes to the host at its last message, and its exit
    # is reaped just after (under load, a moment after the answer arrived)
    async with asyncio.timeout(30):
        while len(live_descendants(sandbox.worker_pids)) > 4:
            await asyncio.sleep(0.02)


async def test_each_child_gets_its_own_random_sequence(make_sandbox) -> None:
    """Children are forked without Python's at-fork hooks; they still do not share a random state."""
    sandbox = await make_sandbox(workers=1)
    code = "import random\n\ndef forward(self, taskInfo):\n    return repr(random.random())\n"
    runs = [await sandbox.run(code, str(i), answer_format="", llm=instant_llm) for i in range(6)]
    runs += await asyncio.gather(
        *(sandbox.run(code, "q", answer_format="", llm=instant_llm) for _ in range(6))
    )
    answers = [r.answer for r in runs]
    assert None not in answers and len(set(answers)) == len(answers)


async def test_agent_code_holds_no_descriptor_but_its_own_pipes(make_sandbox) -> None:
    """The spawner's prepared Landlock rules (open directories) are closed before agent code runs: an
    agent sees stdin/stdout/stderr and its two pipes to the worker, nothing else."""
    sandbox = await make_sandbox(workers=1)
    code = (
        "import os\n\ndef forward(self, taskInfo):\n"
        "    fds = []\n"
        "    for fd in range(256):\n"
        "        try:\n"
        "            os.fstat(fd)\n"
        "            fds.append(fd)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return ','.join(map(str, fds))\n"
    )
    run = await sandbox.run(code, "q", answer_format="", llm=instant_llm)
    assert run.error is None, run.error
    fds = [int(fd) for fd in (run.answer or "").split(",")]
    assert fds[:3] == [0, 1, 2] and len(fds) == 5, fds


async def test_what_a_child_leaves_in_its_temp_directory_is_removed(make_sandbox, isolation: str) -> None:
    """A child's directory, files and locked subdirectories included, is emptied and removed after it
    ends (by a helper that does not hold up the examples beside it)."""
    if isolation != "process":
        pytest.skip("the temp directory of a bwrap worker is not visible from the host")
    sandbox = await make_sandbox(workers=1)
    litter = (
        "import os\n\ndef forward(self, taskInfo):\n"
        "    tmp = os.environ['TMPDIR']\n"
        "    for i in range(50):\n"
        "        open(os.path.join(tmp, 'f%d' % i), 'w').write('x')\n"
        "    os.mkdir(os.path.join(tmp, 'locked'))\n"
        "    os.chmod(os.path.join(tmp, 'locked'), 0)\n"
        "    return tmp\n"
    )
    run = await sandbox.run(litter, "q", answer_format="", llm=instant_llm)
    assert run.error is None and run.answer, run.error
    assert os.path.dirname(run.answer) != "/tmp"  # its own directory, not the worker's
    async with asyncio.timeout(30):
        while os.path.exists(run.answer):
            await asyncio.sleep(0.02)
    after = await sandbox.run(NO_CALL_AGENT, "after", answer_format="", llm=instant_llm)
    assert after.answer == "echo:after"


def _sleeper(seconds: float) -> str:
    # Busy (asleep) before any model call: counts as still starting, until the start window ends.
    return (
        "import time\n\n"
        "def forward(self, taskInfo):\n"
        "    started = time.time()\n"
        f"    time.sleep({seconds})\n"
        "    return repr(started)\n"
    )


async def _start_times(sandbox: Sandbox, code: str, n: int) -> list[float]:
    async with asyncio.timeout(120):
        runs = await asyncio.gather(
            *(sandbox.run(code, f"q{i}", answer_format="", llm=instant_llm) for i in range(n))
        )
    assert all(r.error is None for r in runs), [r.error for r in runs if r.error]
    return sorted(float(r.answer or "nan") for r in runs)


async def test_a_worker_sets_up_a_few_children_at_a_time(make_sandbox) -> None:
    """Children that have not reached their first model call hold the next ones back (so the first
    results of a large batch come early), but only for the start window."""
    from agentkit.sandbox._worker import START_LIMIT, START_WINDOW_S

    n = 3 * START_LIMIT
    sandbox = await make_sandbox(workers=1, max_examples=n)
    require_shared_workers(sandbox)
    starts = await _start_times(sandbox, _sleeper(1.5), n)
    # The first START_LIMIT start at once; the next must wait for a window to end.
    assert starts[START_LIMIT] - starts[0] >= START_WINDOW_S * 0.6, starts
    # A child that is busy for longer than the window does not hold the others back for longer:
    # all have started before the first one wakes (they would start in waves of 1.5 s).
    assert starts[-1] - starts[0] < 1.4, starts


async def test_a_start_cut_short_leaves_no_worker_behind(isolation: str) -> None:
    from sandbox_helpers import runtime_dir

    from agentkit.sandbox import SandboxConfig

    before = host_children()
    sandbox = Sandbox(SandboxConfig(isolation=isolation, workers=1), runtime_dir=runtime_dir())  # type: ignore[arg-type]
    starting = asyncio.ensure_future(sandbox.start())
    async with asyncio.timeout(30):
        while not host_children() - before:  # the worker process exists
            await asyncio.sleep(0.002)
    await asyncio.sleep(0.02)  # past its spawn, waiting for its "ready" (it takes 50 ms and more)
    assert not starting.done()
    starting.cancel()
    await asyncio.gather(starting, return_exceptions=True)
    assert starting.cancelled()
    assert host_children() - before == set()
    await sandbox.aclose()
