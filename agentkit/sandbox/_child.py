"""Pieces the agent child uses on itself: prctl and seccomp via ctypes, the LLM pipe backend.

STDLIB ONLY: shipped as source into the sandbox worker (see `_worker`).
"""

from __future__ import annotations

import os
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


class PipeBackend:
    """The runtime's LLM backend inside the child: each call is a framed request to the worker.

    Thread-safe: any number of agent threads may wait at once; one reader thread hands each reply
    to the thread that asked, by request id.
    """

    def __init__(self, rfd: int, wfd: int) -> None:
        self._r = rfd
        self._w = wfd
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

    def _read_loop(self) -> None:
        decoder = FrameDecoder()
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


def raise_timeout(what: str) -> Any:
    """A signal handler that raises AgentTimeout(what) in the main thread."""

    def handler(signum: int, frame: Any) -> None:
        raise AgentTimeout(what)

    return handler
