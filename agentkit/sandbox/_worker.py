"""The sandbox worker: a warm interpreter that forks one short-lived child per example.

STDLIB ONLY. This file never runs in the host: the host ships its source (with `_child`,
`_protocol`, `_classify` and the `agentkit.runtime` sources) over a pipe to a fresh base interpreter, which loads
them from memory as the packages `agentkit_sandbox_worker` and `agentkit_runtime`.

Why fork per example: the child starts from the warm worker in about a millisecond, applies the
limits (credentials, rlimits, seccomp) to itself only, runs the agent, and exits, so nothing an agent
changes (module globals, files in /tmp, threads) survives into the next example.

Pipes: the worker talks to the host over `ctl_in`/`ctl_out`. Each child gets three fresh pipes
(requests to the worker, replies from the worker, captured stdout+stderr); the worker relays model
calls between child and host, so a child that dies mid-write can never corrupt the host's stream.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from typing import Any

from ._child import (
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    PipeBackend,
    libc,
    load_seccomp,
    prctl,
    raise_timeout,
)
from ._classify import clip_tail, describe, one_line
from ._protocol import DEFAULT_MAX_FRAME, FrameDecoder, ProtocolError, encode, write_all

# How long after the wall limit (which the child enforces on itself with SIGALRM, to get a traceback)
# the worker stops waiting and kills the child.
KILL_GRACE_S = 1.0
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
        self.drop_uid: int | None = cfg.get("drop_uid")
        self.drop_gid: int | None = cfg.get("drop_gid")
        self.nproc: int | None = cfg.get("nproc")
        self.own_group = bool(cfg.get("own_process_group"))
        bpf = cfg.get("bpf")
        self.bpf: bytes | None = base64.b64decode(bpf) if bpf else None
        self.libc = libc()
        # Children run as another uid (or under no_new_privs); being non-dumpable keeps them out of
        # /proc/<worker>/fd, where the pipes to the host are.
        with contextlib.suppress(OSError):
            prctl(self.libc, PR_SET_DUMPABLE, 0)
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
        self.send({"t": "ready", "pid": self.pid, "uid": os.getuid(), "tmp": self.tmp, **self._self_test()})
        try:
            while True:
                while not self.inbox:
                    if not self._read_host():
                        return
                msg = self.inbox.popleft()
                if not isinstance(msg, dict):
                    continue
                if msg.get("t") == "task":
                    self.send(self.run_task(msg))
                elif msg.get("t") == "exit":
                    return
                # anything else (a late reply for a finished task) is dropped
        finally:
            if self.private_tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the child ---------------------------------------------------------------------------------------

    def _drop_privileges(self) -> None:
        if self.drop_uid is not None:
            gid = self.drop_gid if self.drop_gid is not None else self.drop_uid
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(self.drop_uid, self.drop_uid, self.drop_uid)
        # After the credential change, which clears it: die with the worker.
        prctl(self.libc, PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.pid:
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
        if self.bpf is not None:
            load_seccomp(self.libc, self.bpf)
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

    def _child(self, task: dict[str, Any], rpc_out: int, rpc_in: int, out_w: int) -> None:
        """Runs in the forked child and never returns."""
        limits = task["limits"]
        message: dict[str, Any]
        try:
            self._child_fds((rpc_out, rpc_in), out_w)
            os.chdir(self.tmp)
            os.environ["TMPDIR"] = self.tmp
            os.environ["HOME"] = self.tmp
            self._drop_privileges()
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes raise OSError instead
            signal.signal(signal.SIGXCPU, raise_timeout(f"CPU time limit of {limits['cpu']:g} s exceeded"))
            signal.signal(signal.SIGALRM, raise_timeout(f"wall time limit of {limits['wall']:g} s exceeded"))
            self._confine(limits)
        except BaseException as exc:
            message = {"t": "error", "kind": "sandbox", "message": one_line(f"sandbox setup failed: {exc!r}")}
            with contextlib.suppress(BaseException):
                write_all(rpc_out, encode(message))
            os._exit(0)
        try:
            signal.setitimer(signal.ITIMER_REAL, float(limits["wall"]))
            backend = PipeBackend(rpc_in, rpc_out)
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
            write_all(rpc_out, encode(message))
        except BaseException:
            with contextlib.suppress(BaseException):
                write_all(
                    rpc_out, encode({"t": "error", "kind": "exception", "message": "unsendable result"})
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
        pid = os.fork()
        if pid == 0:
            try:
                os.close(c2w_r)
                os.close(w2c_w)
                os.close(out_r)
                self._child(task, c2w_w, w2c_r, out_w)
            finally:
                os._exit(70)
        for fd in (c2w_w, w2c_r, out_w):
            os.close(fd)
        try:
            outcome = self._relay(pid, seq, limits, c2w_r, w2c_w, out_r, started)
        finally:
            for fd in (c2w_r, w2c_w, out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wipe_tmp()
        answer, error, captured, truncated = outcome
        stdout = bytes(captured[:out_limit]).decode("utf-8", "replace")
        if truncated:
            stdout += f"\n[output cut at {out_limit} bytes]"
        return {"t": "done", "seq": seq, "answer": answer, "error": error, "stdout": stdout}

    def _kill(self, pid: int) -> None:
        if self.own_group:  # the child and whatever it forked (it may not have its group yet)
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    def _relay(
        self, pid: int, seq: Any, limits: dict[str, Any], c2w: int, w2c: int, out: int, started: float
    ) -> tuple[str | None, dict[str, Any] | None, bytearray, bool]:
        out_limit = int(limits["out"])
        cpu_limit = float(limits["cpu"])
        deadline = started + float(limits["wall"]) + KILL_GRACE_S
        child_decoder = FrameDecoder(max_frame=DEFAULT_MAX_FRAME // 4 + 12 * out_limit)
        for fd in (c2w, w2c, out):
            os.set_blocking(fd, False)
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        poller = select.poll()
        open_fds = {c2w, out}
        for fd in open_fds:
            poller.register(fd, select.POLLIN)
        poller.register(self.ctl_in, select.POLLIN)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        to_child = bytearray()
        captured = bytearray()
        total_out = 0
        final: dict[str, Any] | None = None
        killed: str | None = None
        status: int | None = None
        rusage: Any = None
        drain_until: float | None = None
        host_gone = False

        def reap(block: bool) -> None:
            nonlocal status, rusage
            if status is None:
                rpid, st, ru = os.wait4(pid, 0 if block else os.WNOHANG)
                if rpid == pid:
                    status, rusage = st, ru

        def kill(reason: str) -> None:
            nonlocal killed
            if killed is None:
                killed = reason
            self._kill(pid)

        try:
            while True:
                # pick up messages the host sent while we were busy elsewhere
                while self.inbox:
                    msg = self.inbox.popleft()
                    if isinstance(msg, dict) and msg.get("t") == "llm_reply" and msg.get("seq") == seq:
                        to_child += encode({"id": msg.get("id"), "resp": msg.get("resp")})
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
                if status is None and pidfd is None:
                    reap(False)
                    wait_ms = 10
                else:
                    wait_ms = int(max(0.0, min(deadline, drain_until or deadline) - now) * 1000) + 1
                for fd, _ev in poller.poll(wait_ms):
                    if fd == pidfd:
                        poller.unregister(pidfd)
                        reap(True)
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
                            frames = child_decoder.feed(data)
                        except ProtocolError as exc:
                            kill("oversize" if "exceeds" in str(exc) else "protocol")
                            poller.unregister(fd)
                            open_fds.discard(fd)
                            continue
                        for frame in frames:
                            if not isinstance(frame, dict):
                                kill("protocol")
                            elif frame.get("t") == "llm" and isinstance(frame.get("req"), dict):
                                self.send(
                                    {"t": "llm", "seq": seq, "id": frame.get("id"), "req": frame["req"]}
                                )
                            elif frame.get("t") in ("result", "error") and final is None:
                                final = frame
        finally:
            if status is None:
                if killed is None:
                    kill("killed")
                reap(True)
            if self.own_group:  # whatever the child forked must not outlive the example
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
            if pidfd is not None:
                os.close(pidfd)
        if host_gone:
            raise SystemExit(0)
        answer, error = self._verdict(final, killed, status, rusage, cpu_limit, limits, captured)
        return answer, error, captured, total_out > out_limit

    def _verdict(
        self,
        final: dict[str, Any] | None,
        killed: str | None,
        status: int | None,
        rusage: Any,
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
            return final["answer"], None
        if final is not None and final.get("t") == "error":
            kind = final.get("kind")
            return fail(
                kind if kind in FAILURE_KINDS else "exception",
                str(final.get("message", "")),
                str(final.get("traceback", "")),
            )
        if killed == "timeout":
            return fail("timeout", f"wall time limit of {limits['wall']:g} s exceeded (killed)")
        cpu_used = (rusage.ru_utime + rusage.ru_stime) if rusage is not None else 0.0
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
