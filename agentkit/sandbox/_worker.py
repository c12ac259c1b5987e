"""The sandbox worker: a warm interpreter that forks one short-lived child per example.

STDLIB ONLY. This file never runs in the host: the host ships its source (with the other worker modules
named in `_payload._WORKER_MODULES`, `agentkit/records/_text.py` and the `agentkit.runtime` sources)
over a pipe to a fresh base interpreter, which loads them from memory as the packages
`agentkit_sandbox_worker` and `agentkit_runtime`.

Why fork per example: the child starts warm in about a millisecond, applies the limits (credentials,
rlimits, seccomp) to itself only, runs the agent, and exits, so nothing an agent changes (module
globals, files in /tmp, threads) survives into the next example.

The parts: this module is the main loop (one task at a time from the host); `_confine` holds what
confines each child and the start-up self-test; `_spawner` the process that forks the children (and
why it exists) and the child's own life; `_relay` the worker's side of one example (model calls
relayed and policed, the verdict).

Pipes: the worker talks to the host over `ctl_in`/`ctl_out`. Each child gets three fresh pipes to the
worker (see `_relay`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import time
from collections import deque
from typing import Any

from ._child import libc
from ._confine import Confinement
from ._protocol import encode, write_all
from ._relay import HostChannel, Outcome, Relay
from ._spawner import SPAWNED, Spawner

# Children of one worker setting themselves up at once (see `Worker._may_start`; the host starts about
# one worker per core), and how long a child counts as doing so at most: one that computes (or hangs)
# before its first model call must not hold the others back for longer.
START_LIMIT = 8
START_WINDOW_S = 0.25

# Imported once in the worker so that children start with them warm, and so that they work where
# the child (another uid) cannot read the interpreter's directory. Importing socket or subprocess
# grants nothing: seccomp and the namespaces are what refuse their system calls.
PRELOAD = (
    "abc",
    "ast",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "concurrent.futures",
    "concurrent.futures.thread",
    "contextlib",
    "copy",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "encodings.idna",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "io",
    "itertools",
    "json",
    "math",
    "numbers",
    "operator",
    "pathlib",
    "pprint",
    "random",
    "re",
    "shutil",
    "socket",
    "statistics",
    "string",
    "subprocess",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "traceback",
    "typing",
    "unicodedata",
)


class Worker:
    """One warm worker: reads tasks from the host, runs each in a forked child, reports the outcomes.

    Up to `capacity` children run at once, all driven by one poll loop (see `_confine.Confinement.
    shareable` for when children may share a worker; otherwise the capacity is 1)."""

    def __init__(self, cfg: dict[str, Any], ctl_in: int, ctl_out: int) -> None:
        self.cfg = cfg
        self.host = HostChannel(ctl_in, ctl_out)
        self.pid = os.getpid()
        # the failure kinds a child may report, sent by the host (agentkit.records.FAILURE_KINDS)
        self.failure_kinds = frozenset(cfg["failure_kinds"])
        self.box = Confinement(cfg, libc())
        self.capacity = max(1, int(cfg.get("max_children", 1))) if self.box.shareable else 1
        self.start_limit = max(1, int(cfg.get("start_limit", START_LIMIT)))
        for name in (*PRELOAD, *cfg.get("preload", ())):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        self.runtime = importlib.import_module(cfg["runtime_package"])
        self.spawner = Spawner(self.box, self.runtime, (ctl_in, ctl_out))
        self.poller: Any = None  # an epoll object, made once the spawner is forked (it must not share it)
        self.relays: dict[Any, Relay] = {}  # by the host's task number
        self.by_fd: dict[int, Relay] = {}
        self.by_pid: dict[int, Relay] = {}
        self.unspawned: deque[Relay] = deque()  # asked of the spawner, its pid not yet known (in order)
        self.waiting: deque[dict[str, Any]] = deque()  # tasks past the capacity (the host avoids this)
        self.retiring = False
        self.children = 0
        self.cleaners: set[int] = set()  # helpers emptying the temp directories of ended children
        self.spawner_fd: int | None = None

    def serve(self) -> None:
        """Main loop: tasks in, outcomes out, until the host closes the pipe."""
        ready = {
            "t": "ready",
            "pid": self.pid,
            "uid": os.getuid(),
            "tmp": self.box.tmp,
            "landlock": self.box.landlock is not None,
            "capacity": self.capacity,
            **(self.box.self_test() if self.cfg.get("self_test") else {}),
        }
        self.spawner.start()
        self.host.send(ready)
        self.host.flush()
        self.poller = select.epoll()
        self.poller.register(self.host.ctl_in, select.EPOLLIN)
        self.spawner_fd = self.spawner.fileno()
        self.poller.register(self.spawner_fd, select.EPOLLIN)
        dirty: set[Relay] = set()
        try:
            while True:
                self._take_host_messages(dirty)
                self._reap_cleaners()
                now = time.monotonic()
                for relay in list(self.relays.values()):
                    if relay in dirty or relay.wake_at <= now:
                        if relay.step(now):
                            self._finish(relay)
                        elif relay.answered and self.box.shareable:
                            # Its answer is in: tell the host now, not after the child's exit, which
                            # takes milliseconds under load (the next example may start meanwhile:
                            # children here cannot reach each other). Alone in a worker, a child
                            # must be gone (and its temp files wiped) before the next one starts.
                            self._report(relay, relay.settle())
                dirty.clear()
                if self.retiring and not self.relays:
                    return
                # everything for the host from this round in one write
                self.host.flush()
                wake = min((r.wake_at for r in self.relays.values()), default=None)
                if self.waiting:  # held back by `_may_start`: look again when a start window ends
                    ends = [
                        r.started + START_WINDOW_S
                        for r in self.relays.values()
                        if r.starting(now, START_WINDOW_S)
                    ]
                    wake = min([*ends, *([] if wake is None else [wake])], default=None)
                timeout = -1.0 if wake is None else max(0.0, wake - now) + 0.001
                for fd, _ev in self.poller.poll(timeout):
                    if fd == self.host.ctl_in:
                        if not self.host.read():
                            return
                    elif fd == self.spawner_fd:
                        self._on_spawner(dirty)
                    else:
                        target = self.by_fd.get(fd)
                        if target is not None:
                            target.on_event(fd)
                            dirty.add(target)
        finally:
            with contextlib.suppress(OSError):
                self.host.flush()
            for relay in self.relays.values():
                relay.kill("host_gone")
            self.spawner.stop()
            self._reap_cleaners(block=True)
            self.box.remove_tmp()

    def _reap_cleaners(self, *, block: bool = False) -> None:
        for pid in list(self.cleaners):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, 0 if block else os.WNOHANG)[0] == 0:
                    continue
            self.cleaners.discard(pid)

    def _take_host_messages(self, dirty: set[Relay]) -> None:
        while self.host.inbox:
            msg = self.host.inbox.popleft()
            if not isinstance(msg, dict):
                continue
            kind = msg.get("t")
            if kind == "task":
                self.waiting.append(msg)
            elif kind == "llm_reply":
                relay = self.relays.get(msg.get("seq"))
                if relay is not None:
                    relay.on_reply(msg)
                    dirty.add(relay)
            elif kind == "cancel":
                relay = self.relays.get(msg.get("seq"))
                if relay is not None:
                    relay.kill("cancelled")
                    dirty.add(relay)
            elif kind == "exit":
                self.retiring = True
            # anything else (a late reply for a finished task) is dropped
        while self.waiting and self._unanswered() < self.capacity and not self.retiring and self._may_start():
            relay = self.start_task(self.waiting.popleft(), dirty)
            if relay is not None:
                dirty.add(relay)
        if self.retiring:
            while self.waiting:
                self.host.send(_gone(self.waiting.popleft().get("seq")))

    def _unanswered(self) -> int:
        """Examples whose outcome the host still waits for (an answered one's child may still be exiting)."""
        return sum(1 for r in self.relays.values() if not r.reported)

    def _may_start(self) -> bool:
        # Children set themselves up on the CPU (fork, confinement, compiling the agent): a few at a
        # time per core, so the first ones reach their model calls (and the first results come back)
        # without waiting for every example of a large batch to be set up.
        now = time.monotonic()
        return sum(1 for r in self.relays.values() if r.starting(now, START_WINDOW_S)) < self.start_limit

    def _on_spawner(self, dirty: set[Relay]) -> None:
        reports = self.spawner.reports()
        lost = reports is None
        for pid, status, cpu, pidfd in reports or ():
            if status == SPAWNED:
                relay = self.unspawned.popleft() if self.unspawned else None
                if relay is None or not pid:  # a fork failed (or an answer to nothing): stop trusting it
                    if pidfd is not None:
                        os.close(pidfd)
                    lost = True
                    continue
                relay.on_spawned(pid, pidfd)
                self.by_pid[pid] = relay
                dirty.add(relay)
                continue
            relay = self.by_pid.pop(pid, None)
            if relay is not None:
                relay.on_exit(status, cpu)
                dirty.add(relay)
        if lost:
            self._spawner_lost(dirty)

    def _spawner_lost(self, dirty: set[Relay]) -> None:
        """No spawner: no exit reports will come (its children died with it); finish and retire."""
        if self.spawner_fd is not None:
            with contextlib.suppress(OSError):  # gone already if its socket is closed
                self.poller.unregister(self.spawner_fd)
            self.spawner_fd = None
        self.spawner.lose()
        self.unspawned.clear()
        for relay in self.relays.values():
            if relay.status is None:
                relay.on_spawner_gone()
            dirty.add(relay)
        self.retiring = True

    def start_task(self, task: dict[str, Any], dirty: set[Relay]) -> Relay | None:
        """Fork a child for `task` and start relaying for it; None when the spawner is gone."""
        seq = task.get("seq")
        c2w_r, c2w_w = os.pipe()
        w2c_r, w2c_w = os.pipe()
        out_r, out_w = os.pipe()
        started = time.monotonic()
        try:
            requested = self.spawner.request((c2w_w, w2c_r, out_w))
        finally:
            for fd in (c2w_w, w2c_r, out_w):
                os.close(fd)
        if not requested:
            for fd in (c2w_r, w2c_w, out_r):
                os.close(fd)
            self.host.send(_gone(seq))
            self._spawner_lost(dirty)
            return None
        self.children += 1
        relay = Relay(
            self.host,
            self.poller,
            task,
            (c2w_r, w2c_w, out_r),
            started=started,
            failure_kinds=self.failure_kinds,
            own_group=self.box.own_group,
            tmp=os.path.join(self.box.tmp, f"x{self.children}"),
        )
        self.relays[seq] = relay
        self.unspawned.append(relay)
        for fd in (c2w_r, w2c_w, out_r):
            self.by_fd[fd] = relay
        return relay

    def _finish(self, relay: Relay) -> None:
        """The child is reaped: its pipes and temp directory gone, and its verdict to the host unless
        it went there already."""
        del self.relays[relay.seq]
        if relay.pid is not None:
            self.by_pid.pop(relay.pid, None)
        for fd in (relay.c2w, relay.w2c, relay.out):
            self.by_fd.pop(fd, None)
        outcome = None if relay.reported else relay.settle()
        relay.close()
        if not self.box.shareable:
            if relay.tmp is not None:
                self.box.remove_child_tmp(relay.tmp)
            self.box.wipe_tmp()  # one child at a time, which could write anywhere in the temp dir
        elif relay.tmp is not None:
            # Landlock kept the child inside its own directory, which no later child uses: the others
            # need not wait while a helper empties it
            cleaner = self.box.remove_child_tmp(relay.tmp, wait=False)
            if cleaner is not None:
                self.cleaners.add(cleaner)
        if relay.reap_lost and self.spawner.alive:
            # it did not report a killed child: it cannot be trusted with more
            self._spawner_lost(set())
        if outcome is not None:
            self._report(relay, outcome)

    def _report(self, relay: Relay, outcome: Outcome) -> None:
        """The example's outcome to the host (once per example)."""
        answer, error = outcome
        done = {"t": "done", "seq": relay.seq, "answer": answer, "error": error, "stdout": relay.stdout()}
        if not self.spawner.alive:
            done["retire"] = True  # no spawner, no further examples: the host replaces this worker
            self.retiring = True
        self.host.send(done)


def _gone(seq: Any) -> dict[str, Any]:
    gone = {"kind": "sandbox", "message": "the worker's process spawner is gone", "traceback": ""}
    return {"t": "done", "seq": seq, "answer": None, "error": gone, "stdout": "", "retire": True}


def main(cfg: dict[str, Any], ctl_in: int, ctl_out: int) -> None:
    """Entry point, called by the bootstrap once the sources are loaded."""
    try:
        worker = Worker(cfg, ctl_in, ctl_out)
    except BaseException as exc:
        import traceback

        write_all(ctl_out, encode({"t": "fatal", "message": repr(exc), "traceback": traceback.format_exc()}))
        raise SystemExit(2) from None
    worker.serve()
