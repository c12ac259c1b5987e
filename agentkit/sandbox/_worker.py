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
import time
from typing import Any

from ._child import libc
from ._confine import Confinement
from ._protocol import encode, write_all
from ._relay import HostChannel, Relay
from ._spawner import Spawner

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
    """One warm worker: reads tasks from the host, runs each in a forked child, reports the outcome."""

    def __init__(self, cfg: dict[str, Any], ctl_in: int, ctl_out: int) -> None:
        self.cfg = cfg
        self.host = HostChannel(ctl_in, ctl_out)
        self.pid = os.getpid()
        # the failure kinds a child may report, sent by the host (agentkit.records.FAILURE_KINDS)
        self.failure_kinds = frozenset(cfg["failure_kinds"])
        self.box = Confinement(cfg, libc())
        for name in (*PRELOAD, *cfg.get("preload", ())):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        self.runtime = importlib.import_module(cfg["runtime_package"])
        self.spawner = Spawner(self.box, self.runtime, (ctl_in, ctl_out))

    def serve(self) -> None:
        """Main loop: one task at a time until the host closes the pipe."""
        ready = {
            "t": "ready",
            "pid": self.pid,
            "uid": os.getuid(),
            "tmp": self.box.tmp,
            "landlock": self.box.landlock is not None,
            **(self.box.self_test() if self.cfg.get("self_test") else {}),
        }
        self.spawner.start()
        self.host.send(ready)
        try:
            while True:
                while not self.host.inbox:
                    if not self.host.read():
                        return
                msg = self.host.inbox.popleft()
                if not isinstance(msg, dict):
                    continue
                if msg.get("t") == "task":
                    done = self.run_task(msg)
                    self.host.send(done)
                    if done.get("retire"):
                        return
                elif msg.get("t") == "exit":
                    return
                # anything else (a late reply for a finished task) is dropped
        finally:
            self.box.remove_tmp()

    def run_task(self, task: dict[str, Any]) -> dict[str, Any]:
        seq = task.get("seq")
        c2w_r, c2w_w = os.pipe()
        w2c_r, w2c_w = os.pipe()
        out_r, out_w = os.pipe()
        started = time.monotonic()
        try:
            spawned = self.spawner.spawn((c2w_w, w2c_r, out_w))
        finally:
            for fd in (c2w_w, w2c_r, out_w):
                os.close(fd)
        if spawned is None:
            for fd in (c2w_r, w2c_w, out_r):
                os.close(fd)
            gone = {"kind": "sandbox", "message": "the worker's process spawner is gone", "traceback": ""}
            return {"t": "done", "seq": seq, "answer": None, "error": gone, "stdout": "", "retire": True}
        _pid, pidfd = spawned
        try:
            relay = Relay(
                self.host,
                self.spawner,
                spawned,
                task,
                (c2w_r, w2c_w, out_r),
                started=started,
                failure_kinds=self.failure_kinds,
                own_group=self.box.own_group,
            )
            answer, error = relay.run()
        finally:
            for fd in (c2w_r, w2c_w, out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if pidfd is not None:
                os.close(pidfd)
        self.box.wipe_tmp()
        done = {"t": "done", "seq": seq, "answer": answer, "error": error, "stdout": relay.stdout()}
        if not self.spawner.alive:
            done["retire"] = True  # no spawner, no further examples: the host replaces this worker
        return done


def main(cfg: dict[str, Any], ctl_in: int, ctl_out: int) -> None:
    """Entry point, called by the bootstrap once the sources are loaded."""
    try:
        worker = Worker(cfg, ctl_in, ctl_out)
    except BaseException as exc:
        import traceback

        write_all(ctl_out, encode({"t": "fatal", "message": repr(exc), "traceback": traceback.format_exc()}))
        raise SystemExit(2) from None
    worker.serve()
