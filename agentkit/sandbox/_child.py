"""Pieces the agent child uses on itself: prctl and seccomp via ctypes, the LLM pipe backend.

STDLIB ONLY: shipped as source into the sandbox worker (see `_worker`).
"""

from __future__ import annotations

import os
import stat
import threading
from typing import Any

from ._classify import AgentTimeout
from ._protocol import FrameDecoder, ProtocolError, encode, write_all

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2


def libc() -> Any:
    """The C library, for the prctl calls Python does not wrap."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def prctl(lib: Any, option: int, arg: int) -> None:
    """prctl(option, arg); OSError on failure."""
    import ctypes

    if lib.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}) failed: {os.strerror(err)}")


class SeccompProgram:
    """A classic-BPF seccomp filter built by the host (libseccomp output, native arch), made ready to
    load: built once in the worker, so that each child only makes the two prctl calls."""

    def __init__(self, lib: Any, bpf: bytes) -> None:
        import ctypes

        class SockFprog(ctypes.Structure):
            _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

        self._lib = lib
        self._buf = ctypes.create_string_buffer(bpf, len(bpf))
        self._prog = SockFprog(len(bpf) // 8, ctypes.addressof(self._buf))
        self._ref = ctypes.byref(self._prog)
        self._mode = ctypes.c_ulong(SECCOMP_MODE_FILTER)
        # The first ctypes call in a process is costly; make it here, so that forked children start warm.
        lib.prctl(ctypes.c_int(PR_GET_DUMPABLE), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0), 0)

    def load(self) -> None:
        """Set no_new_privs and install the filter on this process (and its future threads)."""
        import ctypes

        prctl(self._lib, PR_SET_NO_NEW_PRIVS, 1)
        if self._lib.prctl(PR_SET_SECCOMP, self._mode, self._ref, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"seccomp filter refused: {os.strerror(err)}")


def load_seccomp(lib: Any, bpf: bytes) -> None:
    """Install a classic-BPF seccomp filter built by the host (libseccomp output, native arch)."""
    SeccompProgram(lib, bpf).load()


# Landlock (Linux >= 5.13): unprivileged file-access rules plus scoping, so that a process cannot
# inspect (ptrace, /proc/PID/environ, /proc/PID/mem) or, from ABI 6, signal processes outside its domain.
SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FS_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (1 << 14) | (1 << 15)  # + truncate, ioctl_dev
LANDLOCK_SCOPES = 1 | 2  # abstract unix sockets, signals


def _landlock_fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute ... make_sym
    if abi >= 2:
        rights |= 1 << 13  # refer
    if abi >= 3:
        rights |= 1 << 14  # truncate
    if abi >= 5:
        rights |= 1 << 15  # ioctl_dev
    return rights


LANDLOCK_TYPES: list[Any] = []


def landlock_types() -> tuple[Any, Any]:
    """The ctypes structures of the Landlock calls, made once per process (the worker's, before the
    children fork: making a class in each child would cost it more than the rules themselves)."""
    if not LANDLOCK_TYPES:
        import ctypes

        class RulesetAttr(ctypes.Structure):
            _fields_ = (("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64))

        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = (("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))

        LANDLOCK_TYPES.extend((RulesetAttr, PathBeneath))
    return LANDLOCK_TYPES[0], LANDLOCK_TYPES[1]


def landlock_abi(lib: Any) -> int:
    """The Landlock ABI version of this kernel; 0 when Landlock is missing or disabled."""
    import ctypes

    abi = lib.syscall(
        ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
        ctypes.c_void_p(None),
        ctypes.c_size_t(0),
        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(int(abi), 0)


def open_landlock_rules(lib: Any, paths: list[str], rights: int) -> list[tuple[int, int]]:
    """(O_PATH fd, allowed rights) for each of `paths` that exists: what `apply_landlock` needs of them,
    made once in the spawner and inherited by every child (each then skips the opens and stats)."""
    abi = landlock_abi(lib)
    if abi < 1:
        return []
    handled = _landlock_fs_rights(abi)
    rules = []
    for path in paths:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # not on this system
        allowed = rights & handled
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            allowed &= FS_FILE_RIGHTS
        rules.append((fd, allowed))
    return rules


def apply_landlock(
    lib: Any, read: list[str], write: list[str], opened: list[tuple[int, int]] | None = None
) -> bool:
    """Confine this process with Landlock: read (and execute) only beneath `read`, read and write only
    beneath `write`, nothing else; no access to processes outside. False when Landlock is unavailable.
    `opened` are further rules already opened (`open_landlock_rules`); they are closed here.

    Must come after no_new_privs is set (`load_seccomp` or prctl) and before seccomp forbids nothing
    it needs (it uses its own three syscalls only).
    """
    import ctypes

    abi = landlock_abi(lib)
    if abi < 1:
        return False
    handled = _landlock_fs_rights(abi)

    RulesetAttr, PathBeneath = landlock_types()
    # TCP bind/connect (ABI 4) handled with no rule: refused, should a socket ever be made
    attr = RulesetAttr(handled, 3 if abi >= 4 else 0, LANDLOCK_SCOPES if abi >= 6 else 0)
    ruleset = lib.syscall(
        ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
        ctypes.c_uint32(0),
    )
    if ruleset < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
    rules = [
        *(opened or ()),
        *open_landlock_rules(lib, read, FS_READ),
        *open_landlock_rules(lib, write, handled),
    ]
    try:
        for fd, allowed in rules:
            rule = PathBeneath(allowed, fd)
            if lib.syscall(
                ctypes.c_long(SYS_LANDLOCK_ADD_RULE),
                ctypes.c_int(ruleset),
                ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            ):
                err = ctypes.get_errno()
                raise OSError(
                    err, f"landlock_add_rule({os.readlink(f'/proc/self/fd/{fd}')}): {os.strerror(err)}"
                )
        prctl(lib, PR_SET_NO_NEW_PRIVS, 1)
        if lib.syscall(ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)):
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(ruleset)
        for fd, _allowed in rules:
            os.close(fd)
    return True


class PipeBackend:
    """The runtime's LLM backend inside the child: each call is a framed request to the worker.

    Thread-safe without a thread of its own: a caller waiting for its reply reads the pipe for every
    waiting caller (one at a time) and hands each reply to the caller that asked, by request id. A
    single-threaded agent thus never starts a thread, which keeps the child's start and its page
    faults cheap (a second thread turns each copy-on-write fault into a cross-CPU TLB flush).
    """

    def __init__(self, rfd: int, wfd: int, decoder: FrameDecoder | None = None) -> None:
        self._r = rfd
        self._w = wfd
        self._decoder = decoder or FrameDecoder()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Frames over PIPE_BUF written by two threads would interleave; this orders whole frames.
        self._write_lock = threading.Lock()
        self._waiting: set[int] = set()
        self._replies: dict[int, Any] = {}
        self._reading = False
        self._next_id = 0
        self._closed: str | None = None

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._closed is not None:
                return {"error": self._closed, "error_kind": "llm"}
            self._next_id += 1
            rid = self._next_id
            self._waiting.add(rid)
        try:
            frame = encode({"t": "llm", "id": rid, "req": request})
            with self._write_lock:
                write_all(self._w, frame)
            with self._lock:
                reply = self._await(rid)
        finally:
            with self._lock:
                self._waiting.discard(rid)
                self._replies.pop(rid, None)
        if not isinstance(reply, dict):
            return {"error": "malformed reply from the host", "error_kind": "llm"}
        return reply

    def _await(self, rid: int) -> Any:
        """With the lock held: the reply to `rid`, read by this thread or handed over by another."""
        while True:
            if rid in self._replies:
                return self._replies.pop(rid)
            if self._closed is not None:
                return {"error": self._closed, "error_kind": "llm"}
            if self._reading:
                self._changed.wait()
                continue
            self._reading = True
            messages: list[Any] | None = None
            self._lock.release()
            try:
                data = os.read(self._r, 1 << 16)
                messages = self._decoder.feed(data) if data else None
            except (OSError, ProtocolError):
                messages = None
            finally:
                self._lock.acquire()
                self._reading = False
                self._changed.notify_all()
            if messages is None:
                self._closed = "the LLM channel to the host is closed"
                continue
            for msg in messages:
                got = msg.get("id") if isinstance(msg, dict) else None
                if isinstance(got, int) and got in self._waiting:
                    self._replies[got] = msg.get("resp")

    def send_final(self, frame: bytes, wait_s: float = 2.0) -> None:
        """Write the child's last message, after any request another thread is half-way through writing
        (frames over PIPE_BUF would interleave); a thread stuck longer than `wait_s` is not waited for."""
        locked = self._write_lock.acquire(timeout=wait_s)
        try:
            write_all(self._w, frame)
        finally:
            if locked:
                self._write_lock.release()


def read_message(fd: int, decoder: FrameDecoder) -> Any:
    """Block until one whole message arrives on `fd`; bytes past it stay in `decoder`.

    Used once, for the task: the worker sends nothing else before the child's first request, so
    no second message can be waiting behind it.
    """
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            raise ProtocolError("the worker closed the pipe before sending the task")
        messages = decoder.feed(data)
        if messages:
            return messages[0]


def raise_timeout(what: str) -> Any:
    """A signal handler that raises AgentTimeout(what) in the main thread."""

    def handler(signum: int, frame: Any) -> None:
        raise AgentTimeout(what)

    return handler
