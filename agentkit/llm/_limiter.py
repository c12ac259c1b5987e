"""A per-model limit on requests in flight, shared by the whole process, that backs off on 429s.

asyncio primitives belong to one event loop, but the sync wrappers run each call in a fresh loop and
apps may drive clients from several threads. So the limiter keeps its count under a threading lock and
wakes a waiter through that waiter's own loop (`call_soon_threadsafe`).

A provider that answers 429 is asked for fewer requests at once: the limit in force is halved (at
most once per `CUT_INTERVAL_S`, so that one burst of refusals counts once), grows back by one for
every that-many successes (additive increase), and returns to the configured limit after
`RESTORE_AFTER_S` without a 429.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

CUT_INTERVAL_S = 1.0
"""Further 429s within this long of a cut do not cut again (they answer requests sent before it)."""
RESTORE_AFTER_S = 60.0
"""After this long without a 429 the configured limit is back in force."""


class SharedLimiter:
    """A FIFO counting semaphore usable from any number of event loops and threads."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._cap = float(self._limit)
        self._last_cut: float | None = None
        self._in_use = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self._in_use

    @property
    def limit(self) -> int:
        """The limit in force: the configured one, or less while the provider is rate limiting."""
        with self._lock:
            return self._effective()

    def _effective(self) -> int:
        if self._last_cut is not None and time.monotonic() - self._last_cut >= RESTORE_AFTER_S:
            self._cap, self._last_cut = float(self._limit), None
        return max(1, min(self._limit, int(self._cap)))

    def rate_limited(self) -> None:
        """The provider refused a request with 429: halve the limit in force (see the module doc)."""
        with self._lock:
            now = time.monotonic()
            if self._last_cut is not None and now - self._last_cut < CUT_INTERVAL_S:
                return
            self._cap = float(max(1, self._effective() // 2))
            self._last_cut = now

    def succeeded(self) -> None:
        """A request went through: after a cut, raise the limit in force a little."""
        with self._lock:
            if self._cap >= self._limit:
                return
            self._cap = min(float(self._limit), self._cap + 1.0 / max(1, int(self._cap)))
            self._wake()

    @asynccontextmanager
    async def slot(self, limit: int | None = None) -> AsyncIterator[None]:
        """Hold one slot for the body of the `async with`; `limit` updates the limit first."""
        await self.acquire(limit)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, limit: int | None = None) -> None:
        """Wait for a free slot."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if limit is not None and max(1, limit) != self._limit:
                self._limit = max(1, limit)
                self._cap = min(self._cap, float(self._limit)) if self._last_cut else float(self._limit)
                self._wake()
            if self._in_use < self._effective() and not self._waiters:
                self._in_use += 1
                return
            entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] = (loop, loop.create_future())
            self._waiters.append(entry)
        try:
            await entry[1]
        except asyncio.CancelledError:
            with self._lock:
                try:
                    self._waiters.remove(entry)
                    granted = False
                except ValueError:
                    # Already handed a slot; if the hand-over has not run yet, `_grant` gives it back.
                    granted = entry[1].done() and not entry[1].cancelled()
            if granted:
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back, handing it straight to the oldest waiter if the limit allows."""
        with self._lock:
            self._in_use -= 1
            self._wake()

    def _wake(self) -> None:
        """Hand free slots to the oldest waiters, as many as the limit in force allows (lock held)."""
        while self._waiters and self._in_use < self._effective():
            loop, future = self._waiters.popleft()
            try:
                loop.call_soon_threadsafe(self._grant, future)
            except RuntimeError:
                continue
            self._in_use += 1

    def _grant(self, future: asyncio.Future[None]) -> None:
        if future.cancelled():
            self.release()
        else:
            future.set_result(None)


_registry: dict[tuple[str, str | None], SharedLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(model: str, api_base: str | None, limit: int) -> SharedLimiter:
    """The process-wide limiter of one model endpoint (created on first use with `limit`)."""
    key = (model, api_base)
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = SharedLimiter(limit)
        return limiter
