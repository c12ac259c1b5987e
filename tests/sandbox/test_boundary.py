"""Attacks on the sandbox boundary itself: the RPC pipe, the worker's memory, sibling examples, memory
the rlimits do not count, and (without bwrap) the host's files through Landlock."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
from typing import Any

import pytest
from sandbox_helpers import (
    NO_CALL_AGENT,
    ONE_CALL_AGENT,
    REPO,
    field_values,
    instant_llm,
    live_descendants,
    require_seccomp,
)

from agentkit.sandbox import AgentRun, Sandbox
from agentkit.sandbox._protocol import HEADER, FrameDecoder, ProtocolError
from agentkit.sandbox._requests import BadRequest, clean_request

pytestmark = pytest.mark.sandbox

# Agent code that writes raw frames to its channel, as a hostile agent would, bypassing the runtime.
RAW_PIPE = """
import gc, json, os, struct

def _backend():
    return [o for o in gc.get_objects() if type(o).__name__ == "PipeBackend"][0]

def send_raw(payload: bytes):
    frame = memoryview(struct.pack(">I", len(payload)) + payload)
    fd = _backend()._w
    while frame:
        frame = frame[os.write(fd, frame):]

def send(message):
    send_raw(json.dumps(message).encode())

def receive(count):  # the next `count` replies to raw requests, read as the runtime would
    backend, got = _backend(), []
    while len(got) < count:
        got.extend(backend._decoder.feed(os.read(backend._r, 1 << 16)))
    return got
"""


async def run_between_good_ones(
    sandbox: Sandbox, code: str, question: str, llm: Any = instant_llm
) -> AgentRun:
    """Run hostile code beside a good example, and another good one after it on the same workers."""
    hostile, beside = await asyncio.gather(
        sandbox.run(code, question, answer_format="", llm=llm),
        sandbox.run(ONE_CALL_AGENT, "beside", answer_format="", llm=instant_llm),
    )
    after = await sandbox.run(ONE_CALL_AGENT, "after", answer_format="", llm=instant_llm)
    for good, q in ((beside, "beside"), (after, "after")):
        assert good.error is None, good.error
        assert good.answer == f"42|{q}"
    return hostile


MEMORY_SCAN = """
import ctypes, re

def forward(self, taskInfo):
    found = set()
    for line in open("/proc/self/maps"):
        parts = line.split()
        if "rw" not in parts[1]:
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if end - start > 256 * 2**20:
            continue
        for m in re.finditer(rb"MARK-[A-Z]-[0-9]{4}", ctypes.string_at(start, end - start)):
            found.add(m.group().decode())
    return ",".join(sorted(found))
"""

VICTIM = """
def forward(self, taskInfo):
    thinking, answer = LLMAgentBase(["thinking", "answer"], "v")([taskInfo], "Prompt MARK-P-" + taskInfo.content[-4:])
    print("printed MARK-O-" + taskInfo.content[-4:])
    return "MARK-A-" + taskInfo.content[-4:]
"""


async def test_earlier_examples_are_not_in_the_childs_memory(make_sandbox) -> None:
    """Children fork from a spawner that never saw a task: no earlier question, prompt, output or answer."""
    sandbox = await make_sandbox(workers=1)
    for i in range(3):
        run = await sandbox.run(VICTIM, f"question MARK-Q-{1000 + i}", answer_format="", llm=instant_llm)
        assert run.answer == f"MARK-A-{1000 + i}", run.error
    scan = await sandbox.run(MEMORY_SCAN, "nothing to see", answer_format="", llm=instant_llm)
    assert scan.error is None, scan.error
    assert scan.answer == ""


FLOOD = (
    RAW_PIPE
    + """
def forward(self, taskInfo):
    for i in range(300):  # sends them all before reading any reply
        send({"t": "llm", "id": 7, "req": {"messages": [{"role": "user", "content": "x"}], "fields": ["answer"]}})
    # Every one is answered or refused before the next call: what the host saw no longer depends on
    # how far it had got when the example ended.
    replies = receive(300)
    answered = sum(1 for r in replies if not r["resp"].get("error"))
    got = [f"{answered} answered"]
    agent = LLMAgentBase(["answer"], "after the flood")
    try:
        agent([taskInfo], "one more")
        got.append("allowed")
    except LLMCallError as exc:
        got.append(str(exc))
    return " | ".join(got)
"""
)


async def test_llm_calls_are_capped_per_example_and_in_flight(make_sandbox) -> None:
    """Forged requests written straight into the pipe still count, and at most 32 wait at once."""
    in_flight = peak = calls = 0
    # Hold each call until 32 wait together (or the 40th came): the in-flight cap is then reached on
    # every run, however slowly the host gets to the calls.
    crowd = asyncio.Condition()

    async def holding_llm(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, peak, calls
        async with crowd:
            calls += 1
            in_flight += 1
            peak = max(peak, in_flight)
            crowd.notify_all()
            await asyncio.wait_for(crowd.wait_for(lambda: peak >= 32 or calls >= 40), timeout=15)
            in_flight -= 1
        return field_values(request)

    sandbox = await make_sandbox(max_llm_calls=40)
    run = await run_between_good_ones(sandbox, FLOOD, "q", llm=holding_llm)
    assert run.error is None, run.error
    assert run.answer == "40 answered | the agent exceeded its limit of 40 LLM calls per example"
    assert calls == 40
    assert peak == 32


FORGED_REQUESTS = (
    RAW_PIPE
    + """
def forward(self, taskInfo):
    chat = _backend().chat
    user = {"role": "user", "content": "hi"}
    requests = {
        "image": {"messages": [{"role": "user", "content": [{"type": "image_url",
                  "image_url": {"url": "http://169.254.169.254/latest/meta-data"}}]}], "fields": ["answer"]},
        "tool": {"messages": [{"role": "tool", "content": "x"}], "fields": ["answer"]},
        "not_a_list": {"messages": "hi"},
        "big": {"messages": [{"role": "user", "content": "x" * 5000}], "fields": ["answer"]},
        "extra": {"messages": [dict(user, tool_calls=[1], name="x")], "fields": ["answer"], "model": "gpt-9",
                  "api_base": "http://evil", "temperature": 1e9, "sample_index": -5, "agent_name": "n" * 999},
        "nested": {"messages": [user], "fields": ["answer"], "x": json.loads("[" * 500 + "]" * 500)},
    }
    out = {}
    for name, request in requests.items():
        reply = chat(request)
        out[name] = reply.get("error") or "answered"
    return json.dumps(out)
"""
)


async def test_forged_requests_are_rebuilt_or_refused(make_sandbox) -> None:
    seen: list[dict[str, Any]] = []

    async def recording_llm(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        return field_values(request)

    sandbox = await make_sandbox(max_request_chars=2000)
    run = await run_between_good_ones(sandbox, FORGED_REQUESTS, "q", llm=recording_llm)
    assert run.error is None, run.error
    out = json.loads(run.answer or "{}")
    assert "each message must be" in out["image"]
    assert "each message must be" in out["tool"]
    assert "'messages' must be a list" in out["not_a_list"]
    assert "over the limit of 2000" in out["big"]
    assert out["extra"] == out["nested"] == "answered"
    assert seen == [
        {
            "messages": [{"role": "user", "content": "hi"}],
            "fields": ["answer"],
            "temperature": 2.0,
            "agent_name": "n" * 200,
        },
        {"messages": [{"role": "user", "content": "hi"}], "fields": ["answer"]},
    ]


FORGED_RESULT = (
    RAW_PIPE
    + """
def forward(self, taskInfo):
    send({"t": "result", "answer": "x" * 300_000})
    os._exit(0)
"""
)

LYING_STR = """
class Lying(str):
    def __len__(self):
        return 1

class Answer:
    def __str__(self):
        return Lying("y" * 300_000)

def forward(self, taskInfo):
    return Answer()
"""


@pytest.mark.parametrize("code", [FORGED_RESULT, LYING_STR], ids=["forged-frame", "lying-len"])
async def test_answer_limit_holds_against_a_forged_result(make_sandbox, code: str) -> None:
    sandbox = await make_sandbox()
    run = await run_between_good_ones(sandbox, code, "q")
    assert run.answer is None
    assert run.error is not None and run.error.kind == "output_limit", run.error


DEEP_FRAME = (
    RAW_PIPE
    + """
import time

def forward(self, taskInfo):
    send_raw(b'{"t":"llm","id":1,"req":' + b"[" * 100000 + b"]" * 100000 + b"}")
    time.sleep(1000)
    return "still running"
"""
)


async def test_garbage_frames_end_only_the_example(make_sandbox) -> None:
    # Left alone, the agent would sleep past its wall limit and fail as a timeout; the garbage is what
    # must end it, at once, however long that takes on a loaded machine.
    sandbox = await make_sandbox()
    run = await run_between_good_ones(sandbox, DEEP_FRAME, "q")
    assert run.error is not None and run.error.kind == "killed", run.error
    assert "garbage" in run.error.message


SIBLING_ATTACK = """
import fcntl, os, resource, signal

def forward(self, taskInfo):
    me, parent = os.getpid(), os.getppid()
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:  # Landlock hides /proc: guess
        pids = list(range(2, 4096))
    done = []
    for pid in pids:
        if pid in (me, parent):
            continue
        r, w = os.pipe()
        try:  # SIGIO-as-SIGKILL needs only the same uid
            fcntl.fcntl(r, fcntl.F_SETOWN, pid)
            fcntl.fcntl(r, 10, signal.SIGKILL)  # F_SETSIG
            fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
            os.write(w, b"x")
            done.append("sigio")
        except OSError:
            pass
        finally:
            os.close(r)
            os.close(w)
        try:
            resource.prlimit(pid, resource.RLIMIT_CPU, (0, 0))
            done.append("prlimit")
        except OSError:
            pass
        try:
            os.setpriority(os.PRIO_PROCESS, pid, 19)
            done.append("setpriority")
        except OSError:
            pass
    return "did: " + ",".join(sorted(set(done)))
"""


async def test_an_agent_cannot_disturb_a_sibling_example(make_sandbox, isolation: str) -> None:
    """Without bwrap every child is uid 65534: SIGIO, prlimit and setpriority must not reach the others."""
    require_seccomp(isolation, "without seccomp, same-uid processes can signal each other (see LEVEL_NOTES)")
    sandbox = await make_sandbox()
    # The victim waits in its model call for as long as the attack runs, so that it is alive and
    # exposed during the whole attack however the two are scheduled.
    victim_waits = asyncio.Event()
    attack_over = asyncio.Event()

    async def held_llm(request: dict[str, Any]) -> dict[str, Any]:
        victim_waits.set()
        await asyncio.wait_for(attack_over.wait(), timeout=15)
        return field_values(request)

    async def attack() -> AgentRun:
        await asyncio.wait_for(victim_waits.wait(), timeout=15)
        try:
            return await sandbox.run(SIBLING_ATTACK, "q", answer_format="", llm=instant_llm)
        finally:
            attack_over.set()

    victim, attacker = await asyncio.gather(
        sandbox.run(ONE_CALL_AGENT, "survived", answer_format="", llm=held_llm), attack()
    )
    assert attacker.error is None, attacker.error
    assert attacker.answer == "did: "
    assert victim.error is None, victim.error
    assert victim.answer == "42|survived"


UNCOUNTED_MEMORY = """
import ctypes, os

def forward(self, taskInfo):
    libc = ctypes.CDLL(None, use_errno=True)
    out = []
    try:
        os.memfd_create("m")
        out.append("memfd")
    except OSError:
        pass
    if libc.shmget(0, 1 << 20, 0o1600) >= 0:
        out.append("shmget")
    if libc.msgget(0, 0o1600) >= 0:
        out.append("msgget")
    libc.mq_open.restype = ctypes.c_int
    if libc.mq_open(b"/agentkit-test", 0o100 | 2, 0o600, None) >= 0:
        libc.mq_unlink(b"/agentkit-test")
        out.append("mq_open")
    return "got: " + ",".join(out)
"""


async def test_memory_the_rlimit_does_not_count_is_refused(make_sandbox, isolation: str) -> None:
    """memfd pages and System V / POSIX IPC live outside RLIMIT_AS (and IPC objects outlive the example)."""
    require_seccomp(isolation, "without seccomp, memfd and System V / POSIX IPC are not refused")
    sandbox = await make_sandbox()
    run = await run_between_good_ones(sandbox, UNCOUNTED_MEMORY, "q")
    assert run.error is None, run.error
    assert run.answer == "got: "


LANDLOCK_PROBE = """
import os

def forward(self, taskInfo):
    out = []
    for path in taskInfo.content.split("|") + ["/proc/%d/environ" % os.getppid(), "/proc/1/cmdline"]:
        try:
            open(path, "rb").read(10)
            out.append("READ " + path)
        except OSError:
            pass
    for path in ["/dev/shm/agentkit-probe", "/var/tmp/agentkit-probe", "/tmp/agentkit-probe"]:
        try:
            open(path, "w").write("x")
            out.append("WROTE " + path)
        except OSError:
            pass
    open("mine.txt", "w").write("ok")  # its own temp directory stays writable
    return "leaks: " + ",".join(out) + " own tmp " + open("mine.txt").read()
"""


async def test_landlock_hides_the_host_without_bwrap(make_sandbox, isolation: str) -> None:
    if isolation != "process":
        pytest.skip("bwrap hides the files already")
    sandbox = await make_sandbox()
    if not sandbox.landlock:
        pytest.skip("this kernel has no Landlock")
    targets = [str(REPO / "pyproject.toml"), str(REPO.parent / "shared" / "data" / "README.md")]
    run = await run_between_good_ones(sandbox, LANDLOCK_PROBE, "|".join(targets))
    assert run.error is None, run.error
    assert run.answer == "leaks:  own tmp ok"


async def test_a_fresh_child_per_example_still_starts_quickly(make_sandbox) -> None:
    """The spawner adds no noticeable cost: a typical example on one worker takes milliseconds.

    The median, not the sum: a cost of the spawner shows in every example, while a loaded machine
    stalls a few of them, which would add up past any bound on the sum. The bound is 50 times what an
    example takes here (about 10 ms), so that it catches a child started from scratch per example (a
    fresh interpreter costs 40-65 ms of CPU, several times that on a loaded machine) rather than load;
    the figure itself is `make bench`'s (scenario 3)."""
    sandbox = await make_sandbox(workers=1)
    runs = [await sandbox.run(NO_CALL_AGENT, str(i), answer_format="", llm=instant_llm) for i in range(30)]
    assert [r.answer for r in runs] == [f"echo:{i}" for i in range(30)]
    assert statistics.median(r.duration_s for r in runs) < 0.5


# -- pure checks, no sandbox needed ----------------------------------------------------------------------


def test_clean_request_keeps_only_the_runtime_shape() -> None:
    request = {
        "messages": [{"role": "system", "content": "s", "x": 1}, {"role": "user", "content": "u"}],
        "fields": ["thinking", "answer"],
        "temperature": -3,
        "agent_name": "CoT",
        "sample_index": 2,
        "api_key": "steal",
    }
    assert clean_request(request, max_chars=100) == {
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "fields": ["thinking", "answer"],
        "temperature": 0.0,
        "agent_name": "CoT",
        "sample_index": 2,
    }
    for bad in (
        None,
        {"messages": []},
        {"messages": [{"role": "user", "content": 3}]},
        {"messages": [{"role": "user", "content": "x"}], "fields": "answer"},
        {"messages": [{"role": "user", "content": "x" * 101}]},
    ):
        with pytest.raises(BadRequest):
            clean_request(bad, max_chars=100)


def test_frame_decoder_turns_deep_nesting_into_a_protocol_error() -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(HEADER.pack(len(payload)) + payload)
    sized = FrameDecoder().feed_sized(HEADER.pack(2) + b"{}")
    assert sized == [({}, 2)]


FORGED_ANSWER_THEN_LINGER = (
    RAW_PIPE
    + """
import time

def forward(self, taskInfo):
    send({"t": "result", "answer": "forged"})
    time.sleep(60)  # an answer sent early and work going on: the example must not wait for it
    return "never"
"""
)


async def test_an_answer_ends_the_example_and_its_child(make_sandbox, isolation: str) -> None:
    """The example's outcome goes to the host when the child's last message arrives, not when it exits:
    a child that goes on after it (here, sleeping for a minute) is killed, not waited for."""
    sandbox = await make_sandbox(wall_time_s=120.0, cpu_time_s=100.0)
    await sandbox.run(ONE_CALL_AGENT, "warm", answer_format="", llm=instant_llm)
    if sandbox.worker_capacity == 1:
        pytest.skip("one child per worker (no Landlock or seccomp): the next may start only once it is gone")
    before = live_descendants([os.getpid()])
    run = await sandbox.run(FORGED_ANSWER_THEN_LINGER, "q", answer_format="", llm=instant_llm)
    assert run.error is None, run.error
    assert run.answer == "forged"
    # well inside the minute the child sleeps, and the 120 s wall limit that would otherwise end it
    assert run.duration_s < 30, run.duration_s
    for _ in range(300):  # the child is killed once its answer is in; its exit is reported soon after
        lingering = live_descendants([os.getpid()]) - before
        if not lingering:
            break
        await asyncio.sleep(0.05)
    assert not lingering, f"the child of an answered example still runs: {sorted(lingering)}"
    after = await sandbox.run(ONE_CALL_AGENT, "after", answer_format="", llm=instant_llm)
    assert after.answer == "42|after", after.error
