"""The direct path: chat completions POSTed straight to an OpenAI-compatible server.

litellm spends milliseconds of CPU per call (parameter mapping, model-info lookups, logging objects,
a thread hop); for a self-hosted server that speaks the OpenAI protocol that work buys nothing, and at
evaluation concurrency it is what bounds throughput. This module is only the transport: one shared
connection pool per event loop, the POST, and errors typed for `agentkit.llm._litellm.classify_error`.
Which calls take it, and the request body, are decided in `_litellm`.

Plain ``http://`` endpoints (a self-hosted server) are reached with `agentkit.llm._plain`, a small
HTTP/1.1 client; HTTPS and proxied ones with aiohttp, imported on first use, not with `agentkit.llm`.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

from agentkit.llm._plain import PlainPool

if TYPE_CHECKING:
    import aiohttp

_preload_lock = threading.Lock()
_preloading = False


def start_import() -> None:
    """Import aiohttp in a background thread, once per process (it takes a few hundred milliseconds,
    most of them building its TLS contexts): a command that will call an HTTPS endpoint directly
    starts it early, so the first call does not pay for it. A call made meanwhile waits for the same
    import."""
    global _preloading
    with _preload_lock:
        if _preloading:
            return
        _preloading = True

    def load() -> None:
        import aiohttp  # noqa: F401  (the import is the point)

    threading.Thread(target=load, name="agentkit-import-aiohttp", daemon=True).start()


# Below the 5 s keep-alive of uvicorn (vLLM) and llama.cpp's server, so an idle connection is
# dropped by us before the server closes it under a request we are sending.
_KEEPALIVE_S = 4.0
# How much of an error body is kept for the message.
_ERROR_BODY_CHARS = 2000


class HTTPStatusError(Exception):
    """The server answered with a status that is not 2xx."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        """The HTTP status code."""
        self.headers: dict[str, str] = dict(headers or {})
        """The response headers (Retry-After lives here)."""


class HTTPTransportError(Exception):
    """The exchange failed below HTTP semantics: connection refused or dropped, a truncated body,
    or a 2xx reply that is not a chat completion. Trying again may help."""


class _LoopSession:
    """The connections of one event loop (plain ``http://`` ones, and an aiohttp session opened on
    first need) and the parked generator that closes them at the loop's end."""

    def __init__(self) -> None:
        self.plain = PlainPool(_KEEPALIVE_S)
        self.session: aiohttp.ClientSession | None = None
        self.closer: AsyncGenerator[None, None] | None = None
        self.users: weakref.WeakSet[SessionPool] = weakref.WeakSet()
        # Read once per loop, as httpx reads it once per client: scanning the whole environment on
        # every request cost more CPU than the rest of the request's plumbing.
        self.proxied = _proxies()

    @property
    def closed(self) -> bool:
        """True once this loop's connections were closed."""
        return self.plain.closed

    async def aiohttp_session(self) -> aiohttp.ClientSession:
        """This loop's aiohttp session (created on first use)."""
        if self.session is None or self.session.closed:
            self.session = _aiohttp_session()
        return self.session

    async def aclose(self) -> None:
        """Close the plain connections and the aiohttp session."""
        await self.plain.aclose()
        if self.session is not None:
            await self.session.close()


# One entry per event loop for the whole process, shared by every client on that loop. Owned here,
# not by a client: a client dropped without `aclose` must not take connections that others use (or
# that are mid-request) down with it through the garbage collector.
_by_loop: dict[asyncio.AbstractEventLoop, _LoopSession] = {}
_by_loop_lock = threading.Lock()


async def _close_at_loop_end(
    loop: asyncio.AbstractEventLoop, entry: _LoopSession
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with _by_loop_lock:
            if _by_loop.get(loop) is entry:
                del _by_loop[loop]
        await entry.aclose()


class SessionPool:
    """A client's handle on the connections of each event loop it calls from.

    Connections belong to the loop they were made on, and one client is used from several loops (the
    sync wrappers run each call in a fresh one). So there is one `_LoopSession` per loop, created on
    first use and shared by the clients on that loop. It is closed by whichever comes first: `aclose`
    of the last client that used it, or the loop's own shutdown. The latter works through an async
    generator parked on the loop: `asyncio.run` and `asyncio.Runner` finalise every live async
    generator of a loop before closing it (`shutdown_asyncgens`), which runs the generator's `finally`
    and closes the connections, so no "Unclosed client session" is left behind.
    """

    async def entry(self) -> _LoopSession:
        """This loop's connections (created on first use)."""
        loop = asyncio.get_running_loop()
        entry = _by_loop.get(loop)
        if entry is None or entry.closed:
            entry = await _open(loop)
        if self not in entry.users:
            entry.users.add(self)
        return entry

    async def session(self) -> aiohttp.ClientSession:
        """This loop's aiohttp session (created on first use)."""
        return await (await self.entry()).aiohttp_session()

    async def post_json(
        self, url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float
    ) -> dict[str, Any]:
        """`post_json` on this loop's connections: plain ``http://`` URLs, when the environment names
        no proxy, go over `agentkit.llm._plain` (no aiohttp import); everything else over aiohttp."""
        entry = await self.entry()
        if url.startswith("http://") and not entry.proxied:
            return await post_json(entry.plain, url, body, headers, timeout_s)
        return await post_json(await entry.aiohttp_session(), url, body, headers, timeout_s)

    async def aclose(self) -> None:
        """Stop using this loop's connections; the last client to stop closes them."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        entry = _by_loop.get(loop)
        if entry is None or self not in entry.users:
            return
        entry.users.discard(self)
        if not entry.users and entry.closer is not None:
            await entry.closer.aclose()


def needs_aiohttp(url: str | None) -> bool:
    """Whether requests to `url` go over aiohttp: HTTPS (or no URL known), or proxies configured."""
    return url is None or not url.startswith("http://") or _proxies()


def _proxies() -> bool:
    """Whether the environment names proxies, by the rules of ``urllib.request.getproxies()`` on Linux
    (read here because importing urllib.request brings http.client and email, several milliseconds of
    every command's start): any ``*_proxy`` variable with a value, any case; then, under CGI, not the
    ``http`` one; then the all-lowercase names win, an empty one removing its scheme."""
    found: set[str] = set()
    for name, value in os.environ.items():
        if value and name.lower().endswith("_proxy"):
            found.add(name.lower()[:-6])
    if "REQUEST_METHOD" in os.environ:
        found.discard("http")
    for name, value in os.environ.items():
        if name.endswith("_proxy"):
            if value:
                found.add(name.lower()[:-6])
            else:
                found.discard(name.lower()[:-6])
    return bool(found)


def _aiohttp_session() -> aiohttp.ClientSession:
    import aiohttp

    # Proxy settings are read from the environment (as httpx does for litellm) only when there are
    # any: aiohttp re-reads the environment on every request when asked to trust it.
    return aiohttp.ClientSession(
        # No connection cap: the client's per-model limiter already bounds requests in flight.
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=_KEEPALIVE_S),
        # Each request runs under its own asyncio.timeout (the attempt's time limit).
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=_proxies(),
    )


async def _open(loop: asyncio.AbstractEventLoop) -> _LoopSession:
    entry = _LoopSession()
    closer = _close_at_loop_end(loop, entry)
    # Its first step runs to the `yield` without suspending, so no other task can open a second
    # entry for this loop in between; from here on the loop knows the generator.
    await closer.__anext__()
    entry.closer = closer
    with _by_loop_lock:
        _by_loop[loop] = entry
    return entry


async def post_json(
    via: aiohttp.ClientSession | PlainPool,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout_s: float,
) -> dict[str, Any]:
    """POST `body` as JSON (through an aiohttp session or a `PlainPool`) and return the JSON object of
    a 2xx reply.

    Raises HTTPStatusError for a non-2xx status, HTTPTransportError when the connection fails or the
    reply is not a JSON object, and TimeoutError when the whole exchange takes over `timeout_s`.
    """
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    async with asyncio.timeout(timeout_s):
        if isinstance(via, PlainPool):
            raw, status, reply_headers = await _post_plain(via, url, payload, headers)
        else:
            raw, status, reply_headers = await _post_aiohttp(via, url, payload, headers)
    if status >= 300 or status < 200:
        # Redirects are not followed (neither does the OpenAI SDK): a 3xx is an answer, not a hop.
        raise HTTPStatusError(status, _error_message(raw), reply_headers)
    try:
        reply = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise HTTPTransportError(f"reply is not JSON ({len(raw)} bytes): {exc}") from exc
    if not isinstance(reply, dict):
        raise HTTPTransportError(f"reply is not a JSON object: {type(reply).__name__}")
    return reply


async def _post_plain(
    pool: PlainPool, url: str, payload: bytes, headers: dict[str, str]
) -> tuple[bytes, int, Mapping[str, str]]:
    try:
        response = await pool.post(url, payload, headers)
    except TimeoutError:
        raise
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        raise HTTPTransportError(f"{type(exc).__name__}: {exc}") from exc
    return response.body, response.status, response.headers


async def _post_aiohttp(
    session: aiohttp.ClientSession, url: str, payload: bytes, headers: dict[str, str]
) -> tuple[bytes, int, Mapping[str, str]]:
    import aiohttp

    try:
        async with session.post(url, data=payload, headers=headers, allow_redirects=False) as response:
            return await response.read(), response.status, response.headers
    except TimeoutError:
        raise  # aiohttp's own timeouts are OSErrors too; they are timeouts first
    except (aiohttp.ClientError, OSError) as exc:
        raise HTTPTransportError(f"{type(exc).__name__}: {exc}") from exc


def _error_message(raw: bytes) -> str:
    text = raw[:_ERROR_BODY_CHARS].decode("utf-8", "replace").strip()
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return text.splitlines()[0][:300] if text else "(empty body)"
