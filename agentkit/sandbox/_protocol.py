"""Framing for the pipes between host, worker and agent child: a 4-byte big-endian length, then JSON.

STDLIB ONLY: this file is shipped as source into the sandbox worker.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
# Generous: a frame carries at most a prompt, a reply, or an answer plus captured output. A bigger
# length prefix means the peer is broken or hostile, and reading it would let it exhaust our memory.
DEFAULT_MAX_FRAME = 64 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame."""


def encode(message: Any) -> bytes:
    """One frame: length prefix plus compact JSON (ASCII, so lone surrogates survive the trip)."""
    data = json.dumps(message, separators=(",", ":"), default=str).encode("ascii")
    return HEADER.pack(len(data)) + data


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking fd."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get complete messages back."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[Any]:
        """Add bytes; return every message now complete. Raises ProtocolError on a bad frame."""
        return [message for message, _ in self.feed_sized(data)]

    def feed_sized(self, data: bytes) -> list[tuple[Any, int]]:
        """Like `feed`, with the size in bytes of each message's frame."""
        self._buf += data
        out: list[tuple[Any, int]] = []
        while len(self._buf) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buf)
            if length > self._max:
                raise ProtocolError(f"frame of {length} bytes exceeds the limit of {self._max}")
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            payload = bytes(self._buf[HEADER.size : end])
            del self._buf[:end]
            try:
                out.append((json.loads(payload), length))
            except (ValueError, RecursionError) as exc:  # deep nesting must not crash the reader
                raise ProtocolError(f"frame is not JSON: {type(exc).__name__}") from None
        return out

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buf)
