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


def load_seccomp(lib: Any, bpf: bytes) -> None:
    """Install a classic-BPF seccomp filter built by the host (libseccomp output, native arch)."""
    import ctypes

    class SockFprog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = SockFprog(len(bpf) // 8, ctypes.addressof(buf))
    prctl(lib, PR_SET_NO_NEW_PRIVS, 1)
    if lib.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp filter refused: {os.strerror(err)}")


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


def apply_landlock(lib: Any, read: list[str], write: list[str]) -> bool:
    """Confine this process with Landlock: read (and execute) only beneath `read`, read and write only
    beneath `write`, nothing else; no access to processes outside. False when Landlock is unavailable.

    Must come after no_new_privs is set (`load_seccomp` or prctl) and before seccomp forbids nothing
    it needs (it uses its own three syscalls only).
    """
    import ctypes

    abi = landlock_abi(lib)
    if abi < 1:
        return False
    handled = _landlock_fs_rights(abi)

    class RulesetAttr(ctypes.Structure):
        _fields_ = (("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64))

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = (("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))

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
    try:
        for paths, rights in ((read, FS_READ), (write, handled)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # not on this system
                try:
                    allowed = rights & handled
                    if not stat.S_ISDIR(os.fstat(fd).st_mode):
                        allowed &= FS_FILE_RIGHTS
                    rule = PathBeneath(allowed, fd)
                    if lib.syscall(
                        ctypes.c_long(SYS_LANDLOCK_ADD_RULE),
                        ctypes.c_int(ruleset),
                        ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                        ctypes.byref(rule),
                        ctypes.c_uint32(0),
                    ):
                        err = ctypes.get_errno()
                        raise OSError(err, f"landlock_add_rule({path}): {os.strerror(err)}")
                finally:
                    os.close(fd)
        prctl(lib, PR_SET_NO_NEW_PRIVS, 1)
        if lib.syscall(ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)):
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(ruleset)
    return True


class PipeBackend:
    """The runtime's LLM backend inside the child: each call is a framed request to the worker.

    Thread-safe: any number of agent threads may wait at once; one reader thread hands each reply
    to the thread that asked, by request id.
    """

    def __init__(self, rfd: int, wfd: int, decoder: FrameDecoder | None = None) -> None:
        self._r = rfd
        self._w = wfd
        self._decoder = decoder or FrameDecoder()
        self._lock = threading.Lock()
        self._pending: dict[int, list[Any]] = {}
        self._next_id = 0
        self._reader: threading.Thread | None = None
        self._closed: str | None = None

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        frame_slot: list[Any] = [threading.Event(), None]
        with self._lock:
            if self._closed is not None:
                return {"error": self._closed, "error_kind": "llm"}
            self._next_id += 1
            rid = self._next_id
            self._pending[rid] = frame_slot
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_loop, name="llm-rpc", daemon=True)
                self._reader.start()
            frame = encode({"t": "llm", "id": rid, "req": request})
            write_all(self._w, frame)
        frame_slot[0].wait()
        reply = frame_slot[1]
        if not isinstance(reply, dict):
            return {"error": "malformed reply from the host", "error_kind": "llm"}
        return reply

    def send_final(self, frame: bytes, wait_s: float = 2.0) -> None:
        """Write the child's last message, after any request another thread is half-way through writing
        (frames over PIPE_BUF would interleave); a thread stuck longer than `wait_s` is not waited for."""
        locked = self._lock.acquire(timeout=wait_s)
        try:
            write_all(self._w, frame)
        finally:
            if locked:
                self._lock.release()

    def _read_loop(self) -> None:
        decoder = self._decoder
        try:
            while True:
                data = os.read(self._r, 1 << 16)
                if not data:
                    break
                for msg in decoder.feed(data):
                    rid = msg.get("id") if isinstance(msg, dict) else None
                    with self._lock:
                        slot = self._pending.pop(rid, None) if isinstance(rid, int) else None
                    if slot is not None:
                        slot[1] = msg.get("resp")
                        slot[0].set()
        except (OSError, ProtocolError):
            pass
        with self._lock:
            self._closed = "the LLM channel to the host is closed"
            waiting = list(self._pending.values())
            self._pending.clear()
        for slot in waiting:
            slot[1] = {"error": "the LLM channel to the host is closed", "error_kind": "llm"}
            slot[0].set()


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
