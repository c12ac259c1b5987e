"""`agentkit.llm._plain`, the HTTP/1.1 client of plain ``http://`` endpoints, against replies the fake
server does not send: chunked bodies, ``Connection: close``, an interim 100 Continue, a server that
closes a kept-alive connection, and no reply at all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from agentkit.llm._http import HTTPTransportError, post_json
from agentkit.llm._plain import PlainPool

Replier = Callable[[int], bytes]


async def _serve(reply: Replier, *, close_after_reply: bool = False) -> tuple[asyncio.Server, list[int]]:
    """A server answering the n-th request of each connection with ``reply(n)`` (closing it instead when
    that is empty, or after the reply with `close_after_reply`); it records the connections it
    accepted (in the returned list)."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                answer = reply(n)
                n += 1
                if not answer:
                    break
                writer.write(answer)
                await writer.drain()
                if close_after_reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted


@pytest.fixture
async def pool() -> AsyncIterator[PlainPool]:
    p = PlainPool(keepalive_s=4.0)
    yield p
    await p.aclose()


def _url(server: asyncio.Server) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"


CHUNKED = (
    b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n4;x=1\r\n "b"\r\n1\r\n}\r\n0\r\n\r\n'
)
SIZED_CLOSE = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"a": 1}'
SIZED_KEEP = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"a": 1}'
CONTINUE_THEN_SIZED = b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"a": 2}'


async def test_chunked_replies_and_keep_alive(pool: PlainPool) -> None:
    server, accepted = await _serve(lambda n: CHUNKED)
    async with server:
        for _ in range(3):
            assert await post_json(pool, _url(server), {"q": 1}, {}, 5.0) == {"a": "b"}
    assert len(accepted) == 1  # one connection, kept alive


async def test_connection_close_and_interim_replies(pool: PlainPool) -> None:
    server, accepted = await _serve(lambda n: SIZED_CLOSE)
    async with server:
        for _ in range(2):
            assert await post_json(pool, _url(server), {}, {}, 5.0) == {"a": 1}
    assert len(accepted) == 2  # the server said close: a new connection each time
    server, _ = await _serve(lambda n: CONTINUE_THEN_SIZED)
    async with server:
        assert await post_json(pool, _url(server), {}, {}, 5.0) == {"a": 2}


async def test_a_connection_the_server_closed_while_idle_is_not_reused(pool: PlainPool) -> None:
    # The server answers one request per connection (keep-alive offered), then closes it.
    server, accepted = await _serve(lambda n: SIZED_KEEP, close_after_reply=True)
    async with server:
        assert await post_json(pool, _url(server), {}, {}, 5.0) == {"a": 1}
        await asyncio.sleep(0.1)  # the server's close arrives while the connection is idle
        assert await post_json(pool, _url(server), {}, {}, 5.0) == {"a": 1}
    assert len(accepted) == 2


async def test_a_connection_dropped_under_a_request_is_an_error_the_caller_retries(pool: PlainPool) -> None:
    # The server closes the connection as soon as the second request has arrived, without replying.
    server, accepted = await _serve(lambda n: SIZED_KEEP if n == 0 else b"")
    async with server:
        assert await post_json(pool, _url(server), {}, {}, 5.0) == {"a": 1}
        with pytest.raises(HTTPTransportError, match="ServerClosed"):
            await post_json(pool, _url(server), {}, {}, 5.0)
    assert len(accepted) == 1  # not sent again on another connection behind the caller's back


async def test_no_reply_on_a_new_connection_is_a_transport_error(pool: PlainPool) -> None:
    server, accepted = await _serve(lambda n: b"")
    async with server:
        with pytest.raises(HTTPTransportError, match="ServerClosed"):
            await post_json(pool, _url(server), {}, {}, 5.0)
    assert len(accepted) == 1  # a fresh connection is not tried again here (the caller retries)
