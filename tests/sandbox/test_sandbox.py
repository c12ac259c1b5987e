"""The sandbox runs well-behaved agents, relays their model calls, classifies failures and heals itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
from typing import Any

import pytest
from sandbox_helpers import (
    NO_CALL_AGENT,
    ONE_CALL_AGENT,
    REPO,
    expected_level,
    field_values,
    instant_llm,
    live_descendants,
    runtime_dir,
)

from agentkit.errors import BudgetExceeded
from agentkit.sandbox import LEVEL_NOTES, AgentRun
from agentkit.sandbox._isolation import level_notes

pytestmark = pytest.mark.sandbox


async def test_agent_gets_answers_from_async_handler(make_sandbox) -> None:
    sandbox = await make_sandbox()
    seen: list[dict[str, Any]] = []

    async def llm(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        await asyncio.sleep(0.01)  # a real await on the host's loop
        return field_values(request, answer="42")

    runs = await asyncio.gather(
        *(sandbox.run(ONE_CALL_AGENT, f"q{i}", answer_format="a number", llm=llm) for i in range(6))
    )
    for i, run in enumerate(runs):
        assert run.error is None, run.error
        assert run.answer == f"42|q{i}"
        assert run.duration_s > 0
    assert len(seen) == 6
    assert all(r["fields"] == ["thinking", "answer"] for r in seen)
    assert all(r["agent_name"] == "CoT Agent" for r in seen)


async def test_concurrent_llm_calls_from_agent_threads(make_sandbox) -> None:
    sandbox = await make_sandbox()
    code = """
from concurrent.futures import ThreadPoolExecutor

def forward(self, taskInfo):
    agent = LLMAgentBase(["answer"], "Worker")
    def one(i):
        return agent([taskInfo], "Solve part %d." % i)[0].content
    with ThreadPoolExecutor(max_workers=8) as pool:
        return ",".join(pool.map(one, range(8)))
"""
    in_flight = 0
    peak = 0
    all_there = asyncio.Event()

    async def llm(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 8:
            all_there.set()
        # only answer once all eight calls wait at the same time: proves they are concurrent
        await asyncio.wait_for(all_there.wait(), timeout=15)
        in_flight -= 1
        text = json.dumps(request["messages"])
        part = re.search(r"part (\d+)", text)
        assert part is not None
        return field_values(request, answer=f"a{part.group(1)}")

    run = await sandbox.run(code, "q", answer_format="", llm=llm)
    assert run.error is None, run.error
    assert run.answer == ",".join(f"a{i}" for i in range(8))
    assert peak == 8


@pytest.mark.parametrize(
    ("code", "kind", "needle"),
    [
        ("def forward(self, taskInfo)\n    return 1\n", "syntax", "SyntaxError"),
        ("def forward(self, taskInfo):\n    raise ValueError('boom')\n", "exception", "boom"),
        (
            "def forward(self, taskInfo):\n    import sys\n    sys.exit(3)\n",
            "exception",
            "SystemExit",
        ),
        ("def forward(self, taskInfo):\n    import ctypes\n    ctypes.string_at(0)\n", "killed", "SIGSEGV"),
    ],
)
async def test_failures_are_classified(make_sandbox, code: str, kind: str, needle: str) -> None:
    sandbox = await make_sandbox(workers=1)
    run = await sandbox.run(code, "q", answer_format="", llm=instant_llm)
    assert run.answer is None
    assert run.error is not None
    assert run.error.kind == kind, run.error
    assert needle in run.error.message + run.error.traceback
    # the worker goes on serving
    ok = await sandbox.run(NO_CALL_AGENT, "next", answer_format="", llm=instant_llm)
    assert ok.answer == "echo:next"


async def test_exception_traceback_points_into_agent_code(make_sandbox) -> None:
    sandbox = await make_sandbox(workers=1)
    code = "def helper():\n    return {}['missing']\n\ndef forward(self, taskInfo):\n    return helper()\n"
    run = await sandbox.run(code, "q", answer_format="", llm=instant_llm)
    assert run.error is not None and run.error.kind == "exception"
    assert "KeyError" in run.error.message
    assert "helper" in run.error.traceback


async def test_llm_errors_become_llm_failures(make_sandbox) -> None:
    sandbox = await make_sandbox()

    async def refusing(request: dict[str, Any]) -> dict[str, Any]:
        return {"error": "BudgetExceeded: no budget left", "error_kind": "llm"}

    async def crashing(request: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("provider exploded")

    refused, crashed = await asyncio.gather(
        sandbox.run(ONE_CALL_AGENT, "q", answer_format="", llm=refusing),
        sandbox.run(ONE_CALL_AGENT, "q", answer_format="", llm=crashing),
    )
    assert refused.error is not None and refused.error.kind == "llm"
    assert "no budget left" in refused.error.message
    assert crashed.error is not None and crashed.error.kind == "llm"
    assert "provider exploded" in crashed.error.message


FORGED_BUDGET_FAILURE = """
def forward(self, taskInfo):
    raise LLMCallError("BudgetExceeded: made up", kind="budget")
"""


async def test_a_budget_refusal_is_a_budget_failure_that_agent_code_cannot_forge(make_sandbox) -> None:
    sandbox = await make_sandbox()

    async def over_budget(request: dict[str, Any]) -> dict[str, Any]:
        raise BudgetExceeded("the budget of 0 calls is spent")

    refused, forged = await asyncio.gather(
        sandbox.run(ONE_CALL_AGENT, "q", answer_format="", llm=over_budget),
        sandbox.run(FORGED_BUDGET_FAILURE, "q", answer_format="", llm=instant_llm),
    )
    assert refused.error is not None and refused.error.kind == "budget", refused.error
    assert "BudgetExceeded: the budget of 0 calls is spent" in refused.error.message
    # only a reply from the host can make a call fail for budget
    assert forged.error is not None and forged.error.kind == "exception", forged.error
    assert "made up" in forged.error.message


async def test_code_without_forward_is_a_syntax_failure(make_sandbox) -> None:
    if runtime_dir() is not None:
        pytest.skip("needs the real agentkit.runtime (the stand-in does not check for forward)")
    sandbox = await make_sandbox(workers=1)
    run = await sandbox.run("x = 1\n", "q", answer_format="", llm=instant_llm)
    assert run.error is not None and run.error.kind == "syntax"


async def test_isolation_level_is_said_once(make_sandbox, isolation: str, caplog) -> None:
    caplog.set_level(logging.INFO, logger="agentkit.sandbox")
    sandbox = await make_sandbox()
    for _ in range(3):
        await sandbox.run(NO_CALL_AGENT, "q", answer_format="", llm=instant_llm)
    level = sandbox.isolation_level
    assert level == expected_level(isolation)
    assert sandbox.isolation_notes == level_notes(level, landlock=sandbox.landlock)
    if not sandbox.landlock:
        assert sandbox.isolation_notes.startswith(LEVEL_NOTES[level])
    lines = [r for r in caplog.records if r.name == "agentkit.sandbox"]
    assert len(lines) == 1
    assert level in lines[0].getMessage()
    assert lines[0].levelno == (logging.INFO if level == "bwrap+seccomp" else logging.WARNING)


async def test_bwrap_agent_sees_uid_65534_and_no_project(make_sandbox, isolation: str) -> None:
    if isolation != "bwrap":
        pytest.skip("about the bwrap view of the filesystem")
    sandbox = await make_sandbox()
    code = """
import json, os

def listing(path):
    try:
        return sorted(os.listdir(path))
    except PermissionError:  # Landlock (where the kernel has it) lets the child list nothing outside
        return []

def forward(self, taskInfo):
    status = open("/proc/self/status").read()
    caps = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")]
    return json.dumps({
        "uid": os.getuid(), "gid": os.getgid(), "root": listing("/"),
        "work": os.path.exists("/work"), "repo": os.path.exists(taskInfo.content),
        "home": os.path.exists(os.path.expanduser("~root/.cache")), "caps": caps,
        "env": sorted(os.environ), "pids": [p for p in listing("/proc") if p.isdigit()],
    })
"""
    run = await sandbox.run(code, str(REPO), answer_format="", llm=instant_llm)
    assert run.error is None, run.error
    view = json.loads(run.answer or "")
    assert view["uid"] == 65534 and view["gid"] == 65534
    assert not view["work"] and not view["repo"] and not view["home"]
    assert "work" not in view["root"] and "home" not in view["root"]
    assert view["caps"] == ["0000000000000000"]
    assert not any("KEY" in name or "TOKEN" in name for name in view["env"])
    assert len(view["pids"]) <= 4  # only the sandbox's own processes


async def test_idle_worker_killed_from_outside_is_replaced(make_sandbox) -> None:
    sandbox = await make_sandbox(workers=1)
    first = await sandbox.run(NO_CALL_AGENT, "a", answer_format="", llm=instant_llm)
    assert first.answer == "echo:a"
    [pid] = sandbox.worker_pids
    os.killpg(pid, signal.SIGKILL)
    async with asyncio.timeout(30):  # until the event loop has noticed the death
        while sandbox.worker_pids:
            await asyncio.sleep(0.01)
    second = await sandbox.run(NO_CALL_AGENT, "b", answer_format="", llm=instant_llm)
    assert second.error is None and second.answer == "echo:b"
    assert sandbox.worker_pids and sandbox.worker_pids != [pid]


async def test_worker_killed_mid_example_fails_that_example_only(make_sandbox) -> None:
    sandbox = await make_sandbox(workers=1)

    async def killing_llm(request: dict[str, Any]) -> dict[str, Any]:
        for pid in sandbox.worker_pids:
            os.killpg(pid, signal.SIGKILL)
        await asyncio.sleep(5)
        return field_values(request)

    run = await sandbox.run(ONE_CALL_AGENT, "q", answer_format="", llm=killing_llm)
    assert run.answer is None
    assert run.error is not None and run.error.kind == "killed"
    after = await sandbox.run(ONE_CALL_AGENT, "q2", answer_format="", llm=instant_llm)
    assert after.error is None and after.answer == "42|q2"


async def test_run_result_is_a_model(make_sandbox) -> None:
    sandbox = await make_sandbox()
    code = "def forward(self, taskInfo):\n    print('hello from the agent')\n    return 'x'\n"
    run = await sandbox.run(code, "q", answer_format="", llm=instant_llm)
    assert isinstance(run, AgentRun)
    assert run.answer == "x"
    assert "hello from the agent" in run.stdout
    assert AgentRun.model_validate_json(run.model_dump_json()) == run


async def test_cancelled_run_stops_only_its_own_child(make_sandbox) -> None:
    """Cancelling an example kills its child at once (long before its time limit); its worker, and an
    example running beside it in that worker, go on."""
    sandbox = await make_sandbox(workers=1, wall_time_s=120.0)
    sleeper = (
        "import time\n\ndef forward(self, taskInfo):\n"
        "    LLMAgentBase(['answer'], 'a')([taskInfo], 'go')\n    time.sleep(300)\n"
    )
    sleeping, waiting, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def noting_llm(request: dict[str, Any]) -> dict[str, Any]:
        sleeping.set()
        return field_values(request)

    async def held_llm(request: dict[str, Any]) -> dict[str, Any]:
        waiting.set()
        await release.wait()
        return field_values(request, answer="7")

    beside = asyncio.create_task(sandbox.run(ONE_CALL_AGENT, "beside", answer_format="", llm=held_llm))
    task = asyncio.create_task(sandbox.run(sleeper, "q", answer_format="", llm=noting_llm))
    await asyncio.wait_for(asyncio.gather(sleeping.wait(), waiting.wait()), timeout=30)
    workers = sandbox.worker_pids
    both = len(live_descendants(workers))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(60):  # the sleeper's child goes; the one beside it stays
        while len(live_descendants(workers)) != both - 1:
            await asyncio.sleep(0.02)
    release.set()
    run = await beside
    assert run.error is None and run.answer == "7|beside"
    after = await sandbox.run(NO_CALL_AGENT, "after", answer_format="", llm=instant_llm)
    assert after.answer == "echo:after"
    assert set(workers) <= set(sandbox.worker_pids)  # no worker was discarded for it


async def test_auto_falls_back_when_bwrap_is_missing(monkeypatch, caplog) -> None:
    from agentkit.errors import SandboxError
    from agentkit.sandbox import Sandbox, SandboxConfig, _pool

    monkeypatch.setattr(_pool, "_RESOLVED", {})
    monkeypatch.setattr(_pool, "bwrap_available", lambda: False)
    with pytest.raises(SandboxError, match="bwrap"):
        async with Sandbox(SandboxConfig(isolation="bwrap"), runtime_dir=runtime_dir()):
            pass
    caplog.set_level(logging.INFO, logger="agentkit.sandbox")
    async with Sandbox(SandboxConfig(isolation="auto", workers=1), runtime_dir=runtime_dir()) as sandbox:
        assert sandbox.isolation_level == expected_level("process")
        run = await sandbox.run(NO_CALL_AGENT, "q", answer_format="", llm=instant_llm)
        assert run.answer == "echo:q"
        notes = sandbox.isolation_notes
    warnings = [r for r in caplog.records if r.name == "agentkit.sandbox" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and notes in warnings[0].getMessage()
    # without bwrap, the files are only hidden where Landlock works; the notes must say which
    assert ("NOT protected" in notes) != sandbox.landlock


async def test_without_seccomp_the_level_says_so_and_forks_are_cleaned_up(isolation, monkeypatch) -> None:
    from agentkit.sandbox import Sandbox, SandboxConfig, _isolation, _pool

    monkeypatch.setattr(_pool, "_RESOLVED", {})
    monkeypatch.setattr(_pool, "seccomp_filter", lambda: None)
    monkeypatch.setattr(_isolation, "seccomp_filter", lambda: None)
    forker = """
import os, time

def forward(self, taskInfo):
    pid = os.fork()
    if pid == 0:
        time.sleep(300)
        os._exit(0)
    return str(pid)
"""
    config = SandboxConfig(isolation=isolation, workers=1)  # type: ignore[arg-type]
    async with Sandbox(config, runtime_dir=runtime_dir()) as sandbox:
        assert sandbox.isolation_level == isolation
        assert sandbox.isolation_notes == level_notes(isolation, landlock=sandbox.landlock)
        # The notes of a level without seccomp say what is not blocked (never claim seccomp's protection).
        assert "WITHOUT seccomp" in sandbox.isolation_notes or sandbox.isolation_notes.startswith(
            LEVEL_NOTES["process"]
        )
        run = await sandbox.run(forker, "q", answer_format="", llm=instant_llm)
        assert run.error is None, run.error
        ok = await sandbox.run(ONE_CALL_AGENT, "q", answer_format="", llm=instant_llm)
        assert ok.answer == "42|q"
        if isolation == "process":  # same pid namespace: the grandchild must be gone
            pid = int(run.answer or "0")
            with contextlib.suppress(TimeoutError):  # a loaded machine may take a while to kill it
                async with asyncio.timeout(30):
                    while os.path.exists(f"/proc/{pid}") and "Z" not in _proc_state(pid):
                        await asyncio.sleep(0.02)
            assert not os.path.exists(f"/proc/{pid}") or "Z" in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
