"""The spawner, which forks every agent child, and the agent child's short life.

STDLIB ONLY: shipped as source into the sandbox worker (see `_worker`).

Why a spawner: agent code can read its own memory (ctypes), and a child forked from the worker itself
would carry, in freed heap, the questions, prompts, replies and answers of every earlier example the
worker relayed. So right after start-up, before it has seen any task, the worker forks a "spawner"
that never sees task data; every child is forked from the spawner and receives its task over its own
pipe. The spawner reports each child's pid (with a pidfd) and, once it has reaped it, its exit status;
many children may run at once.
"""

from __future__ import annotations

import array
import contextlib
import gc
import os
import select
import signal
import socket
import struct
import sys
import traceback
from typing import Any, NoReturn

from ._child import PR_SET_PDEATHSIG, PipeBackend, prctl, raise_timeout, read_message
from ._classify import describe, one_line
from ._confine import Confinement
from ._protocol import FrameDecoder, encode, write_all

# The spawner's reports over its socket, each (pid, wait status, CPU seconds): (pid, SPAWNED, 0.0) answers
# a spawn request (pid 0: it failed), with the child's pidfd attached where the kernel has pidfds;
# (pid, status, cpu) says a child has ended and been reaped. Children run side by side, so exit reports
# come in any order, interleaved with the answers to spawn requests (which come in request order).
SPAWN_REPORT = struct.Struct("=qqd")
SPAWNED = -1


def _recv_nowait(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One report and the fd it carries, without blocking (BlockingIOError when none is waiting).

    Not socket.recv_fds: Python 3.11's drops its flags argument, so MSG_DONTWAIT would block."""
    fd_size = array.array("i").itemsize
    msg, ancillary, _flags, _addr = sock.recvmsg(64, socket.CMSG_SPACE(fd_size), socket.MSG_DONTWAIT)
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fd_size])
    return msg, list(fds)


class Spawner:
    """The worker's handle on its spawner process (and, in the forked spawner, its loop)."""

    def __init__(self, box: Confinement, runtime: Any, host_fds: tuple[int, int]) -> None:
        self.box = box
        self.runtime = runtime
        self.host_fds = host_fds  # the worker's pipes to the host, which the spawner must not keep
        self.worker_pid = os.getpid()
        self.sock: socket.socket | None = None
        self.pid: int | None = None

    @property
    def alive(self) -> bool:
        return self.sock is not None

    def fileno(self) -> int:
        assert self.sock is not None
        return self.sock.fileno()

    def start(self) -> None:
        """Fork the spawner now, while this process holds no example data."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                mine.close()
                self._loop(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.sock = mine
        self.pid = pid

    def _loop(self, sock: socket.socket) -> None:
        """Runs in the spawner: fork a child per request and report its pid; report each child's exit
        status once it has reaped it. Many children may run at once."""
        for fd in self.host_fds:
            os.close(fd)
        prctl(self.box.libc, PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.worker_pid:
            os._exit(1)
        self.box.parent_pid = os.getpid()
        # What every child starts with, set once here: its working directory and temp/home variables
        # (each child then moves into its own directory below it).
        os.chdir(self.box.tmp)
        os.environ["TMPDIR"] = self.box.tmp
        os.environ["HOME"] = self.box.tmp
        _warm_up(self.runtime)
        self.box.open_rules()
        fork = _raw_fork()
        # Objects that exist now are never collected in a child: the collector leaves them alone
        # instead of writing to (and so copying) every page of the heap they live on.
        gc.collect()
        gc.freeze()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        children: dict[int, int] = {}  # pidfd -> pid
        while True:
            for fd, _ev in poller.poll():
                if fd != sock.fileno():
                    pid = children.pop(fd)
                    poller.unregister(fd)
                    os.close(fd)
                    _, status, usage = os.wait4(pid, 0)
                    sock.send(SPAWN_REPORT.pack(pid, status, usage.ru_utime + usage.ru_stime))
                    continue
                msg, fds, _flags, _addr = socket.recv_fds(sock, 64, 3)
                if not msg:
                    return
                if len(fds) != 3:
                    for got in fds:
                        os.close(got)
                    sock.send(SPAWN_REPORT.pack(0, SPAWNED, 0.0))
                    continue
                pid = fork()
                if pid == 0:
                    try:
                        sock.close()
                        _after_raw_fork()
                        run_child(self.box, self.runtime, *fds)
                    finally:
                        os._exit(70)
                for got in fds:
                    os.close(got)
                try:
                    pidfd: int | None = os.pidfd_open(pid)
                except (AttributeError, OSError):
                    pidfd = None
                socket.send_fds(
                    sock, [SPAWN_REPORT.pack(pid, SPAWNED, 0.0)], [] if pidfd is None else [pidfd]
                )
                if pidfd is None:
                    # no pidfd to wait on: this child runs alone (the worker then runs one at a time)
                    _, status, usage = os.wait4(pid, 0)
                    sock.send(SPAWN_REPORT.pack(pid, status, usage.ru_utime + usage.ru_stime))
                else:
                    children[pidfd] = pid
                    poller.register(pidfd, select.POLLIN)

    def request(self, fds: tuple[int, int, int]) -> bool:
        """Ask the spawner to fork a child with these pipe ends; False if it is gone.

        Does not wait: the answer (the child's pid, with its pidfd) comes among `reports`, in request
        order. The worker relays for the other children meanwhile: waiting here for every fork held
        up their model calls and exits by a few milliseconds per example under load."""
        if self.sock is None:
            return False
        try:
            socket.send_fds(self.sock, [b"spawn"], list(fds))
        except OSError:
            self.lose()
            return False
        return True

    def reports(self) -> list[tuple[int, int, float, int | None]] | None:
        """The reports waiting on the socket, each (pid, status, CPU seconds, pidfd): status SPAWNED
        answers a request (pid 0: the fork failed; the pidfd where the kernel has them), any other is
        an exit status. None once the spawner is gone (what was read before is then lost with it: its
        children died with it)."""
        if self.sock is None:
            return None
        got: list[tuple[int, int, float, int | None]] = []
        while True:
            try:
                msg, fds = _recv_nowait(self.sock)
            except BlockingIOError:
                return got
            except OSError:
                msg, fds = b"", []
            if not msg:
                self.lose()
                return got or None
            try:
                pid, status, cpu = SPAWN_REPORT.unpack(msg)
            except struct.error:
                for fd in fds:
                    os.close(fd)
                self.lose()
                return None
            pidfd = fds[0] if fds and status == SPAWNED else None
            for fd in fds if pidfd is None else fds[1:]:
                os.close(fd)
            got.append((pid, status, cpu, pidfd))

    def lose(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def stop(self) -> None:
        """Close the spawner's socket (it then exits) and reap it, so its CPU and its children's count
        towards this process (and so the host's)."""
        self.lose()
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(self.pid, 0)
            self.pid = None


_WARM_AGENT = """
def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "Warm-up Agent")
    thinking, answer = agent([taskInfo], "Think step by step, then answer.")
    return answer.content
"""


class _WarmBackend:
    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        fields = request.get("fields") or ["answer"]
        frame = encode({"t": "llm", "id": 1, "req": request})
        FrameDecoder().feed(frame)
        return {"fields": {f: "1" for f in fields}, "raw": "", "parse_error": None}


def _warm_up(runtime: Any) -> None:
    """Run a made-up example through the runtime here, before any child exists: Python 3.11 rewrites
    a function's bytecode (its inline caches) as it warms up, and a child that did that itself would
    copy every page of code it runs."""
    for _ in range(20):
        with contextlib.suppress(Exception):
            runtime.run_agent(_WARM_AGENT, "warm up", backend=_WarmBackend(), answer_format="a number")


def _raw_fork() -> Any:
    """fork(2) without Python's bookkeeping around it, for the spawner's children.

    os.fork() runs the interpreter's after-fork work and every module's at-fork hook in the child
    (threading, logging, random...), which writes to hundreds of pages shared with the spawner: a
    copy of each, and about as much CPU as the rest of a child's start. None of it is needed here:
    the spawner has one thread and holds no lock when it forks (PyDLL keeps the GIL held across the
    call, so the child starts holding it, as its only thread). os.fork where ctypes cannot do this.
    """
    try:
        import ctypes

        raw = ctypes.PyDLL(None, use_errno=True).fork
        raw.restype = ctypes.c_int
        raw.argtypes = []
    except (ImportError, OSError, AttributeError):
        return os.fork

    def fork() -> int:
        pid = int(raw())
        if pid < 0:
            raise OSError(ctypes.get_errno(), "fork failed")
        return pid

    return fork


def _after_raw_fork() -> None:
    """The one at-fork hook a child needs: its own random sequence, not a copy of the spawner's."""
    rand = sys.modules.get("random")
    if rand is not None:
        rand.seed()


def _child_fds(keep_rpc: tuple[int, int], out_w: int, inherited: list[int]) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    keep = sorted({0, 1, 2, *keep_rpc, *inherited})
    low = 0
    for fd in keep:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def run_child(box: Confinement, runtime: Any, rpc_out: int, rpc_in: int, out_w: int) -> NoReturn:
    """Runs in the forked child and never returns. Its task is the first message on `rpc_in`."""
    message: dict[str, Any]
    decoder = FrameDecoder()
    try:
        _child_fds((rpc_out, rpc_in), out_w, box.inherited_fds)
        box.drop_privileges()
        task = read_message(rpc_in, decoder)
        limits = task["limits"]
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes raise OSError instead
        signal.signal(signal.SIGXCPU, raise_timeout(f"CPU time limit of {limits['cpu']:g} s exceeded"))
        signal.signal(signal.SIGALRM, raise_timeout(f"wall time limit of {limits['wall']:g} s exceeded"))
        if isinstance(task.get("tmp"), str):
            box.enter_tmp(task["tmp"])
        box.confine(limits)
    except BaseException as exc:
        message = {"t": "error", "kind": "sandbox", "message": one_line(f"sandbox setup failed: {exc!r}")}
        with contextlib.suppress(BaseException):
            write_all(rpc_out, encode(message))
        os._exit(0)
    backend = PipeBackend(rpc_in, rpc_out, decoder)
    try:
        signal.setitimer(signal.ITIMER_REAL, float(limits["wall"]))
        answer = runtime.run_agent(
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
        # The agent's frames (and so whatever it hoarded before a MemoryError) live on in the traceback;
        # let go of their locals first, or describing the failure may itself run out of memory.
        with contextlib.suppress(BaseException):
            traceback.clear_frames(exc.__traceback__)
        try:
            message = {"t": "error", **describe(exc)}
        except BaseException:
            kind = "memory" if isinstance(exc, MemoryError) else "exception"
            message = {
                "t": "error",
                "kind": kind,
                "message": f"{type(exc).__name__} (could not be described)",
            }
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    try:
        backend.send_final(encode(message))
    except BaseException:
        with contextlib.suppress(BaseException):
            backend.send_final(encode({"t": "error", "kind": "exception", "message": "unsendable result"}))
    os._exit(0)
