"""A small HTTP/1.1 client over asyncio streams, for ``http://`` endpoints.

aiohttp takes a few hundred milliseconds to import (most of it building TLS contexts), which an
evaluation's first result waits for. A self-hosted server on this machine or the LAN (vLLM, llama.cpp,
a test server) speaks plain HTTP/1.1, and a chat completion is one POST with a JSON body: keep-alive
connections per host and port, a Content-Length or chunked reply, nothing else. `agentkit.llm._http`
sends ``http://`` requests here and keeps aiohttp for HTTPS and for proxies from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from dataclasses import dataclass, field

_MAX_HEADER_LINES = 200


@dataclass
class PlainResponse:
    """What one exchange gave back."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        self.writer.close()


class ServerClosed(ConnectionError):
    """The server closed the connection before sending any byte of a reply."""


class PlainPool:
    """Keep-alive connections of one event loop, by host and port. Connections idle longer than
    `keepalive_s` are dropped rather than reused (the server may be closing them)."""

    def __init__(self, keepalive_s: float) -> None:
        self.keepalive_s = keepalive_s
        self.closed = False
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def post(self, url: str, payload: bytes, headers: dict[str, str]) -> PlainResponse:
        """POST `payload` to `url` on an idle connection to its host, else a new one. A connection the
        server closed while it was idle is not reused; one it closes under a request raises (the
        request may have been received: the caller's retry policy decides, and counts the attempt)."""
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(payload)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
        conn = self._take(host, port)
        if conn is None:
            reader, writer = await asyncio.open_connection(host, port)
            conn = _Connection(reader, writer)
        try:
            response, keep = await _exchange(conn, request)
        except BaseException:
            conn.close()  # mid-exchange (dropped, a timeout, a cancellation): the connection is spoilt
            raise
        if keep and not self.closed:
            conn.idle_since = time.monotonic()
            self._idle.setdefault((host, port), []).append(conn)
        else:
            conn.close()
        return response

    def _take(self, host: str, port: int) -> _Connection | None:
        idle = self._idle.get((host, port), [])
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < self.keepalive_s and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def aclose(self) -> None:
        """Close every idle connection; the pool takes no more."""
        self.closed = True
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()
        for conns in idle.values():
            for conn in conns:
                with contextlib.suppress(OSError, RuntimeError):
                    await conn.writer.wait_closed()


async def _exchange(conn: _Connection, request: bytes) -> tuple[PlainResponse, bool]:
    conn.writer.write(request)
    await conn.writer.drain()
    while True:
        line = await conn.reader.readline()
        if not line:
            raise ServerClosed("the server closed the connection without replying")
        version, status, headers = await _read_head(conn.reader, line)
        if status >= 200 or status == 101:
            break  # 1xx (100 Continue, 103 Early Hints) come before the reply
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = headers.get("content-length")
    if chunked:
        body = await _read_chunked(conn.reader)
        framed = True
    elif length is not None:
        body = await conn.reader.readexactly(int(length))
        framed = True
    elif status in (204, 304):
        body, framed = b"", True
    else:
        body, framed = await conn.reader.read(), False
    keep = framed and version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return PlainResponse(status, headers, body), keep


async def _read_head(reader: asyncio.StreamReader, first: bytes) -> tuple[str, int, dict[str, str]]:
    parts = first.decode("latin-1").strip().split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP reply: {first[:80]!r}")
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            return parts[0], int(parts[1]), headers
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    raise ConnectionError("too many header lines")


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise asyncio.IncompleteReadError(b"".join(chunks), None)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after each chunk
