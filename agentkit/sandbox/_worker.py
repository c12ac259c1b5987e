"""The sandbox worker: a warm interpreter that forks one short-lived child per example.

STDLIB ONLY. This file never runs in the host: the host ships its source (with `_child`,
`_protocol`, `_classify` and the `agentkit.runtime` sources) over a pipe to a fresh base interpreter, which loads
them from memory as the packages `agentkit_sandbox_worker` and `agentkit_runtime`.

Why fork per example: the child starts warm in about a millisecond, applies the limits (credentials,
rlimits, seccomp) to itself only, runs the agent, and exits, so nothing an agent changes (module
globals, files in /tmp, threads) survives into the next example.

Why a spawner: agent code can read its own memory (ctypes), and a child forked from the worker itself
would carry, in freed heap, the questions, prompts, replies and answers of every earlier example the
worker relayed. So right after start-up, before it has seen any task, the worker forks a "spawner"
that never sees task data; every child is forked from the spawner and receives its task over its own
pipe. The spawner reports each child's pid (with a pidfd) and, once it has reaped it, its exit status.

Pipes: the worker talks to the host over `ctl_in`/`ctl_out`. Each child gets three fresh pipes
(requests to the worker, the task and replies from the worker, captured stdout+stderr); the worker
relays model calls between child and host, so a child that dies mid-write can never corrupt the host's
stream. The worker also polices them: it numbers requests itself (a child cannot answer for another
request), caps their size, their number per example and how many are in flight, and stops reading a
child that outruns those limits.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import importlib
import os
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from collections import deque
from typing import Any

from ._child import (
    PR_GET_DUMPABLE,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    PipeBackend,
    SeccompProgram,
    apply_landlock,
    landlock_abi,
    landlock_types,
    libc,
    prctl,
    raise_timeout,
    read_message,
)
from ._classify import clip_tail, describe, one_line
from ._protocol import FrameDecoder, ProtocolError, encode, write_all

# How long after the wall limit (which the child enforces on itself with SIGALRM, to get a traceback)
# the worker stops waiting and kills the child.
KILL_GRACE_S = 1.0
# How long the worker waits for the spawner to report a child it has killed; past it, the worker retires.
REAP_TIMEOUT_S = 10.0
# Model calls of one example waiting for the host at once; past it the worker stops reading the child.
MAX_LLM_IN_FLIGHT = 32
# Replies the child has not read yet, in bytes; past it the worker stops reading the child's requests.
MAX_REPLY_BACKLOG = 8 * 2**20
# Defaults for limits the host normally sends with each task.
DEFAULT_LLM_CALLS = 200
DEFAULT_REQUEST_CHARS = 400_000
# The spawner's reports over its socket: (pid, 0.0) for a new child (pid 0: none), then (wait status,
# CPU seconds) once it has reaped it.
SPAWN_REPORT = struct.Struct("=qd")
FAILURE_KINDS = {"syntax", "exception", "timeout", "memory", "output_limit", "killed", "llm", "sandbox"}

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
        self.ctl_in = ctl_in
        self.ctl_out = ctl_out
        self.decoder = FrameDecoder()
        self.inbox: deque[Any] = deque()
        self.pid = os.getpid()
        # The process every agent child must be a direct child of (the spawner, once it runs).
        self.spawner_pid = self.pid
        self.spawner: socket.socket | None = None
        self.drop_uid: int | None = cfg.get("drop_uid")
        self.drop_gid: int | None = cfg.get("drop_gid")
        self.nproc: int | None = cfg.get("nproc")
        self.own_group = bool(cfg.get("own_process_group"))
        bpf = cfg.get("bpf")
        self.bpf: bytes | None = base64.b64decode(bpf) if bpf else None
        self.libc = libc()
        self.seccomp = SeccompProgram(self.libc, self.bpf) if self.bpf is not None else None
        # {"read": [...], "write": [...]}: confine children with Landlock where the kernel has it
        rules = cfg.get("landlock")
        self.landlock: dict[str, list[str]] | None = rules if rules and landlock_abi(self.libc) > 0 else None
        # Children run as another uid (or under no_new_privs); being non-dumpable keeps them out of
        # /proc/<worker>/fd, where the pipes to the host are.
        with contextlib.suppress(OSError):
            prctl(self.libc, PR_SET_DUMPABLE, 0)
        # warm what every child uses (ctypes' first call, the Landlock structures), so they fork warm
        self.libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        if self.landlock is not None:
            landlock_types()
        tmp = cfg.get("tmp_dir")
        self.private_tmp = tmp is None
        if tmp is None:
            tmp = tempfile.mkdtemp(prefix="agentkit-sandbox-")
            if self.drop_uid is not None:
                os.chown(tmp, self.drop_uid, self.drop_gid if self.drop_gid is not None else -1)
        self.tmp: str = tmp
        for name in (*PRELOAD, *cfg.get("preload", ())):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        self.runtime = importlib.import_module(cfg["runtime_package"])

    # -- host channel ----------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        write_all(self.ctl_out, encode(message))

    def _read_host(self) -> bool:
        """Read what the host has sent into the inbox; False when the host has gone."""
        try:
            data = os.read(self.ctl_in, 1 << 16)
        except InterruptedError:
            return True
        if not data:
            return False
        self.inbox.extend(self.decoder.feed(data))
        return True

    def serve(self) -> None:
        """Main loop: one task at a time until the host closes the pipe."""
        ready = {
            "t": "ready",
            "pid": self.pid,
            "uid": os.getuid(),
            "tmp": self.tmp,
            "landlock": self.landlock is not None,
            **self._self_test(),
        }
        self._start_spawner()
        self.send(ready)
        try:
            while True:
                while not self.inbox:
                    if not self._read_host():
                        return
                msg = self.inbox.popleft()
                if not isinstance(msg, dict):
                    continue
                if msg.get("t") == "task":
                    done = self.run_task(msg)
                    self.send(done)
                    if done.get("retire"):
                        return
                elif msg.get("t") == "exit":
                    return
                # anything else (a late reply for a finished task) is dropped
        finally:
            if self.private_tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the spawner -------------------------------------------------------------------------------------

    def _start_spawner(self) -> None:
        """Fork the spawner now, while this process holds no example data."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                mine.close()
                self._spawner_loop(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.spawner = mine

    def _spawner_loop(self, sock: socket.socket) -> None:
        """Runs in the spawner: fork a child per request, report its pid, then its exit status."""
        os.close(self.ctl_in)
        os.close(self.ctl_out)
        prctl(self.libc, PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.pid:
            os._exit(1)
        self.spawner_pid = os.getpid()
        # What every child starts with, set once here: its working directory and temp/home variables.
        os.chdir(self.tmp)
        os.environ["TMPDIR"] = self.tmp
        os.environ["HOME"] = self.tmp
        # Objects that exist now are never collected in a child: the collector leaves them alone
        # instead of writing to (and so copying) every page of the heap they live on.
        gc.collect()
        gc.freeze()
        while True:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 64, 3)
            if not msg:
                return
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                sock.send(SPAWN_REPORT.pack(0, 0.0))
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    sock.close()
                    self._child(*fds)
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
            try:
                pidfd: int | None = os.pidfd_open(pid)
            except (AttributeError, OSError):
                pidfd = None
            socket.send_fds(sock, [SPAWN_REPORT.pack(pid, 0.0)], [] if pidfd is None else [pidfd])
            if pidfd is not None:
                os.close(pidfd)
            _, status, usage = os.wait4(pid, 0)
            sock.send(SPAWN_REPORT.pack(status, usage.ru_utime + usage.ru_stime))

    def _spawn(self, fds: tuple[int, int, int]) -> tuple[int, int | None] | None:
        """Have the spawner fork a child with these pipe ends; (pid, pidfd), None if it is gone."""
        if self.spawner is None:
            return None
        try:
            socket.send_fds(self.spawner, [b"spawn"], list(fds))
            msg, got, _flags, _addr = socket.recv_fds(self.spawner, 4096, 1)
            pid: int | None = SPAWN_REPORT.unpack(msg)[0] or None
        except (OSError, ValueError, struct.error):
            pid, got = None, []
        if pid is None:
            for fd in got:
                os.close(fd)
            self._lose_spawner()
            return None
        return pid, (got[0] if got else None)

    def _await_exit(self, timeout_s: float) -> tuple[int, float] | None:
        """The spawner's report on the current child: (wait status, CPU seconds); None if it is gone."""
        if self.spawner is None:
            return None
        ready, _, _ = select.select([self.spawner], [], [], timeout_s)
        if not ready:
            self._lose_spawner()
            return None
        try:
            status, cpu = SPAWN_REPORT.unpack(self.spawner.recv(4096))
            return status, cpu
        except (OSError, ValueError, struct.error):
            self._lose_spawner()
            return None

    def _lose_spawner(self) -> None:
        if self.spawner is not None:
            with contextlib.suppress(OSError):
                self.spawner.close()
            self.spawner = None

    # -- the child ---------------------------------------------------------------------------------------

    def _drop_privileges(self) -> None:
        if self.drop_uid is not None:
            gid = self.drop_gid if self.drop_gid is not None else self.drop_uid
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(self.drop_uid, self.drop_uid, self.drop_uid)
        # After the credential change, which clears it: die with the spawner (which dies with the worker).
        prctl(self.libc, PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.spawner_pid:
            os._exit(1)

    def _confine(self, limits: dict[str, Any]) -> None:
        def cap(which: int, soft: int, hard: int | None = None) -> None:
            _, old_hard = resource.getrlimit(which)
            hard = soft if hard is None else hard
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(which, (soft, hard))

        cpu = max(1, int(limits["cpu"] + 0.999))
        # SIGXCPU at the soft limit becomes an AgentTimeout with a traceback; SIGKILL at the hard one.
        cap(resource.RLIMIT_CPU, cpu, cpu + 1)
        cap(resource.RLIMIT_AS, int(limits["mem"]))
        cap(resource.RLIMIT_FSIZE, int(limits["file"]))
        cap(resource.RLIMIT_CORE, 0)
        cap(resource.RLIMIT_NOFILE, 256)
        if self.nproc is not None:
            cap(resource.RLIMIT_NPROC, self.nproc)
        if self.own_group:
            # Without seccomp a child can fork; its own group lets the worker kill them all.
            os.setpgid(0, 0)
        if self.landlock is not None:
            # the runtime is already loaded: reading the Python install and writing /tmp is enough
            read = [*self.landlock.get("read", ()), "/proc/self"]
            apply_landlock(self.libc, read, [self.tmp, *self.landlock.get("write", ())])
        if self.seccomp is not None:
            self.seccomp.load()
        else:
            prctl(self.libc, PR_SET_NO_NEW_PRIVS, 1)

    def _child_fds(self, keep_rpc: tuple[int, int], out_w: int) -> None:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        keep = sorted({0, 1, 2, *keep_rpc})
        low = 0
        for fd in keep:
            if fd > low:
                os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 1 << 16)

    def _child(self, rpc_out: int, rpc_in: int, out_w: int) -> None:
        """Runs in the forked child and never returns. Its task is the first message on `rpc_in`."""
        message: dict[str, Any]
        decoder = FrameDecoder()
        try:
            self._child_fds((rpc_out, rpc_in), out_w)
            self._drop_privileges()
            task = read_message(rpc_in, decoder)
            limits = task["limits"]
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes raise OSError instead
            signal.signal(signal.SIGXCPU, raise_timeout(f"CPU time limit of {limits['cpu']:g} s exceeded"))
            signal.signal(signal.SIGALRM, raise_timeout(f"wall time limit of {limits['wall']:g} s exceeded"))
            self._confine(limits)
        except BaseException as exc:
            message = {"t": "error", "kind": "sandbox", "message": one_line(f"sandbox setup failed: {exc!r}")}
            with contextlib.suppress(BaseException):
                write_all(rpc_out, encode(message))
            os._exit(0)
        backend = PipeBackend(rpc_in, rpc_out, decoder)
        try:
            signal.setitimer(signal.ITIMER_REAL, float(limits["wall"]))
            answer = self.runtime.run_agent(
                task["code"], task["question"], backend=backend, answer_format=task["answer_format"]
            )
            signal.setitimer(signal.ITIMER_REAL, 0)
            answer = answer if isinstance(answer, str) else str(answer)
            if len(answer) > limits["out"]:
                message = {
                    "t": "error",
                    "kind": "output_limit",
                    "message": f"the answer has {len(answer)} characters, over the limit of {limits['out']}",
                }
            else:
                message = {"t": "result", "answer": answer}
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                signal.setitimer(signal.ITIMER_REAL, 0)
            message = {"t": "error", **describe(exc)}
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        try:
            backend.send_final(encode(message))
        except BaseException:
            with contextlib.suppress(BaseException):
                backend.send_final(
                    encode({"t": "error", "kind": "exception", "message": "unsendable result"})
                )
        os._exit(0)

    # -- one task, seen from the worker -------------------------------------------------------------------

    def run_task(self, task: dict[str, Any]) -> dict[str, Any]:
        seq = task.get("seq")
        limits = task["limits"]
        out_limit = int(limits["out"])
        c2w_r, c2w_w = os.pipe()
        w2c_r, w2c_w = os.pipe()
        out_r, out_w = os.pipe()
        started = time.monotonic()
        try:
            spawned = self._spawn((c2w_w, w2c_r, out_w))
        finally:
            for fd in (c2w_w, w2c_r, out_w):
                os.close(fd)
        if spawned is None:
            for fd in (c2w_r, w2c_w, out_r):
                os.close(fd)
            gone = {"kind": "sandbox", "message": "the worker's process spawner is gone", "traceback": ""}
            return {"t": "done", "seq": seq, "answer": None, "error": gone, "stdout": "", "retire": True}
        pid, pidfd = spawned
        child_task = {key: task[key] for key in ("code", "question", "answer_format", "limits")}
        try:
            outcome = self._relay(pid, pidfd, seq, limits, (c2w_r, w2c_w, out_r), started, encode(child_task))
        finally:
            for fd in (c2w_r, w2c_w, out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if pidfd is not None:
                os.close(pidfd)
        self._wipe_tmp()
        answer, error, captured, truncated = outcome
        stdout = bytes(captured[:out_limit]).decode("utf-8", "replace")
        if truncated:
            stdout += f"\n[output cut at {out_limit} bytes]"
        done = {"t": "done", "seq": seq, "answer": answer, "error": error, "stdout": stdout}
        if self.spawner is None:
            done["retire"] = True  # no spawner, no further examples: the host replaces this worker
        return done

    def _kill(self, pid: int, pidfd: int | None) -> None:
        if self.own_group:  # the child and whatever it forked (it may not have its group yet)
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            if pidfd is not None:  # cannot hit a recycled pid once the spawner has reaped the child
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)

    def _relay(
        self,
        pid: int,
        pidfd: int | None,
        seq: Any,
        limits: dict[str, Any],
        fds: tuple[int, int, int],
        started: float,
        task_frame: bytes,
    ) -> tuple[str | None, dict[str, Any] | None, bytearray, bool]:
        c2w, w2c, out = fds
        out_limit = int(limits["out"])
        cpu_limit = float(limits["cpu"])
        max_calls = int(limits.get("llm_calls", DEFAULT_LLM_CALLS))
        # JSON (ASCII) takes up to 12 bytes for a character; the host checks the exact count
        max_request = 12 * int(limits.get("request_chars", DEFAULT_REQUEST_CHARS)) + 65536
        deadline = started + float(limits["wall"]) + KILL_GRACE_S
        child_decoder = FrameDecoder(max_frame=max(max_request, 12 * out_limit + 2**20))
        for fd in fds:
            os.set_blocking(fd, False)
        poller = select.poll()
        open_fds = {c2w, out}
        poller.register(out, select.POLLIN)
        poller.register(self.ctl_in, select.POLLIN)
        assert self.spawner is not None
        spawner_fd = self.spawner.fileno()
        poller.register(spawner_fd, select.POLLIN)
        to_child = bytearray(task_frame)
        held: deque[tuple[Any, int]] = deque()  # frames read from the child, not yet acted on
        pending: dict[int, Any] = {}  # our request id -> the child's
        calls = 0
        reading_child = False
        captured = bytearray()
        total_out = 0
        final: dict[str, Any] | None = None
        killed: str | None = None
        status: int | None = None
        cpu_used = 0.0
        drain_until: float | None = None
        host_gone = False

        def kill(reason: str) -> None:
            nonlocal killed
            if killed is None:
                killed = reason
            self._kill(pid, pidfd)

        def refuse(child_id: Any, error: str) -> None:
            to_child.extend(encode({"id": child_id, "resp": {"error": error, "error_kind": "llm"}}))

        def act(frame: Any, size: int) -> None:
            nonlocal final, calls
            if not isinstance(frame, dict):
                kill("protocol")
                return
            kind = frame.get("t")
            if kind in ("result", "error"):
                if final is None:
                    final = frame
                return
            if kind != "llm":
                return
            child_id = frame.get("id") if isinstance(frame.get("id"), int) else None
            request = frame.get("req")
            if not isinstance(request, dict):
                refuse(child_id, "malformed LLM request")
            elif calls >= max_calls:
                refuse(child_id, f"the agent exceeded its limit of {max_calls} LLM calls per example")
            elif size > max_request:
                refuse(child_id, f"an LLM request of {size} bytes is over the size limit")
            else:
                try:
                    data = encode({"t": "llm", "seq": seq, "id": calls + 1, "req": request})
                except (ValueError, TypeError, RecursionError):
                    refuse(child_id, "the LLM request cannot be encoded")
                    return
                calls += 1
                pending[calls] = child_id
                write_all(self.ctl_out, data)

        try:
            while True:
                # pick up messages the host sent while we were busy elsewhere
                while self.inbox:
                    msg = self.inbox.popleft()
                    if isinstance(msg, dict) and msg.get("t") == "llm_reply" and msg.get("seq") == seq:
                        rid = msg.get("id")
                        if isinstance(rid, int) and rid in pending:
                            to_child += encode({"id": pending.pop(rid), "resp": msg.get("resp")})
                while held and killed is None and len(pending) < MAX_LLM_IN_FLIGHT:
                    if len(to_child) >= MAX_REPLY_BACKLOG:
                        break
                    act(*held.popleft())
                now = time.monotonic()
                if status is not None:
                    if not open_fds:
                        break
                    if drain_until is None:
                        drain_until = now + 0.5
                    elif now >= drain_until:
                        break
                elif now >= deadline:
                    kill("timeout")
                if to_child:
                    try:
                        written = os.write(w2c, to_child)
                        del to_child[:written]
                    except BlockingIOError:
                        pass
                    except OSError:
                        to_child.clear()  # the child closed its end; it has no use for replies
                if to_child:
                    poller.register(w2c, select.POLLOUT)
                else:
                    with contextlib.suppress(KeyError):
                        poller.unregister(w2c)
                # Back-pressure: a child that floods requests, or does not read its replies, is not read.
                want_child = (
                    c2w in open_fds
                    and not held
                    and len(pending) < MAX_LLM_IN_FLIGHT
                    and len(to_child) < MAX_REPLY_BACKLOG
                )
                if want_child != reading_child:
                    if want_child:
                        poller.register(c2w, select.POLLIN)
                    else:
                        poller.unregister(c2w)
                    reading_child = want_child
                wait_ms = int(max(0.0, min(deadline, drain_until or deadline) - now) * 1000) + 1
                for fd, _ev in poller.poll(wait_ms):
                    if fd == spawner_fd:
                        poller.unregister(spawner_fd)
                        report = self._await_exit(0.0)
                        if report is None:
                            kill("spawner_gone")
                            status = -1
                        else:
                            status, cpu_used = report
                    elif fd == self.ctl_in:
                        if not self._read_host():
                            host_gone = True
                            poller.unregister(self.ctl_in)
                            kill("host_gone")
                    elif fd in (c2w, out):
                        try:
                            data = os.read(fd, 1 << 16)
                        except BlockingIOError:
                            continue
                        if not data:
                            if fd == c2w:
                                reading_child = False
                            poller.unregister(fd)
                            open_fds.discard(fd)
                            continue
                        if fd == out:
                            total_out += len(data)
                            room = out_limit - len(captured)
                            if room > 0:
                                captured += data[:room]
                            if total_out > out_limit:
                                kill("output")
                                poller.unregister(fd)
                                open_fds.discard(fd)
                            continue
                        try:
                            held.extend(child_decoder.feed_sized(data))
                        except ProtocolError as exc:
                            kill("oversize" if "exceeds" in str(exc) else "protocol")
                            poller.unregister(fd)
                            reading_child = False
                            open_fds.discard(fd)
                            continue
                        # result frames may sit behind requests that wait for room; look at them now
                        for frame, _size in held:
                            if isinstance(frame, dict) and frame.get("t") in ("result", "error"):
                                final = final or frame
        finally:
            if status is None:
                if killed is None:
                    kill("killed")
                report = self._await_exit(REAP_TIMEOUT_S)
                if report is not None:
                    status, cpu_used = report
            if self.own_group:  # whatever the child forked must not outlive the example
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
        if host_gone:
            raise SystemExit(0)
        if status == -1:
            status = None
        answer, error = self._verdict(final, killed, status, cpu_used, cpu_limit, limits, captured)
        return answer, error, captured, total_out > out_limit

    def _verdict(
        self,
        final: dict[str, Any] | None,
        killed: str | None,
        status: int | None,
        cpu_used: float,
        cpu_limit: float,
        limits: dict[str, Any],
        captured: bytearray,
    ) -> tuple[str | None, dict[str, Any] | None]:
        def fail(kind: str, message: str, tb: str = "") -> tuple[None, dict[str, Any]]:
            return None, {"kind": kind, "message": one_line(message), "traceback": clip_tail(tb)}

        if killed == "output":
            return fail("output_limit", f"printed more than the limit of {limits['out']} bytes")
        if killed == "oversize":
            return fail("output_limit", "the agent sent a message over the size limit")
        if killed == "protocol":
            return fail("killed", "the agent process wrote garbage to its channel to the host")
        if final is not None and final.get("t") == "result" and isinstance(final.get("answer"), str):
            answer = final["answer"]
            if len(answer) > int(limits["out"]):  # checked here too: the child may forge its result
                return fail(
                    "output_limit",
                    f"the answer has {len(answer)} characters, over the limit of {limits['out']}",
                )
            return answer, None
        if final is not None and final.get("t") == "error":
            kind = final.get("kind")
            return fail(
                kind if kind in FAILURE_KINDS else "exception",
                str(final.get("message", "")),
                str(final.get("traceback", "")),
            )
        if killed == "timeout":
            return fail("timeout", f"wall time limit of {limits['wall']:g} s exceeded (killed)")
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_used >= cpu_limit):
                return fail("timeout", f"CPU time limit of {cpu_limit:g} s exceeded (killed)")
            if sig == signal.SIGSYS:
                return fail("killed", "the agent made a forbidden system call (seccomp)")
            tail = bytes(captured[-4000:]).decode("utf-8", "replace")
            if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and (
                "MemoryError" in tail or "memory" in tail.lower()
            ):
                return fail("memory", f"out of memory at the limit of {limits['mem'] // 2**20} MB", tail)
            return fail("killed", f"the agent process was killed by {name}", tail)
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else -1
        tail = bytes(captured[-4000:]).decode("utf-8", "replace")
        return fail("killed", f"the agent process exited (status {code}) without an answer", tail)

    def _wipe_tmp(self) -> None:
        """Remove what the last child left in its temp directory, with the child's own credentials."""
        try:
            if not os.listdir(self.tmp):
                return
        except OSError:
            return
        pid = os.fork()
        if pid == 0:
            try:
                if self.drop_uid is not None:
                    os.setgroups([])
                    os.setresgid(self.drop_gid or self.drop_uid, self.drop_gid or self.drop_uid, -1)
                    os.setresuid(self.drop_uid, self.drop_uid, self.drop_uid)
                _remove_children(self.tmp)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    def self_test_child(self) -> None:
        """Runs in a forked child: apply the confinement and check it holds. Exit status 0 = good."""
        import socket  # before dropping privileges: the new uid may not read the stdlib

        problems = []
        try:
            self._drop_privileges()
            self._confine({"cpu": 5, "mem": 1 << 30, "file": 1 << 20})
        except BaseException as exc:
            problems.append(f"setup: {exc!r}")
        if self.bpf is not None and not problems:
            try:
                socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
                problems.append("socket() was allowed")
            except PermissionError:
                pass
            try:
                child = os.fork()
                if child == 0:
                    os._exit(0)
                problems.append("fork() was allowed")
            except PermissionError:
                pass
        if self.landlock is not None and not problems:
            try:
                os.listdir("/")
                problems.append("Landlock did not hide /")
            except PermissionError:
                pass
        if not problems:
            box: list[int] = []
            thread = threading.Thread(target=lambda: box.append(1))
            thread.start()
            thread.join()
            if box != [1]:
                problems.append("threads do not run")
        if self.drop_uid is not None and os.getuid() != self.drop_uid:
            problems.append(f"running as uid {os.getuid()}")
        if problems:
            with contextlib.suppress(OSError):
                os.write(2, ("self-test: " + "; ".join(problems) + "\n").encode())
        os._exit(1 if problems else 0)

    def _self_test(self) -> dict[str, Any]:
        if not self.cfg.get("self_test"):
            return {}
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(w, 2)
            self.self_test_child()
        os.close(w)
        chunks = []
        while chunk := os.read(r, 4096):
            chunks.append(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        detail = b"".join(chunks).decode("utf-8", "replace").strip() or f"status {status}"
        if ok:
            # the worker must be able to kill a child that runs as another uid
            pid = os.fork()
            if pid == 0:
                with contextlib.suppress(BaseException):
                    self._drop_privileges()
                    time.sleep(2)
                os._exit(0)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as exc:
                ok, detail = False, f"the worker cannot kill its children: {exc}"
            os.waitpid(pid, 0)  # unkillable, it still exits after its short sleep
        return {"self_test": {"ok": ok, "detail": "" if ok else detail}}


def _remove_children(path: str) -> None:
    def retry_writable(func: Any, target: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            func(target)

    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            with contextlib.suppress(OSError):
                os.chmod(full, 0o700)
            shutil.rmtree(full, onerror=retry_writable)
        else:
            with contextlib.suppress(OSError):
                os.unlink(full)


def main(cfg: dict[str, Any], ctl_in: int, ctl_out: int) -> None:
    """Entry point, called by the bootstrap once the sources are loaded."""
    try:
        worker = Worker(cfg, ctl_in, ctl_out)
    except BaseException as exc:
        import traceback

        write_all(ctl_out, encode({"t": "fatal", "message": repr(exc), "traceback": traceback.format_exc()}))
        raise SystemExit(2) from None
    worker.serve()
