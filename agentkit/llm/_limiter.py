"""A per-model limit on requests in flight, shared by the whole process.

asyncio primitives belong to one event loop, but the sync wrappers run each call in a fresh loop and
apps may drive clients from several threads. So the limiter keeps its count under a threading lock and
wakes a waiter through that waiter's own loop (`call_soon_threadsafe`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SharedLimiter:
    """A FIFO counting semaphore usable from any number of event loops and threads."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_use = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self._in_use

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
            if limit is not None:
                self._limit = max(1, limit)
            if self._in_use < self._limit and not self._waiters:
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
        """Give a slot back, handing it straight to the oldest waiter if there is one."""
        with self._lock:
            while self._waiters and self._in_use <= self._limit:
                loop, future = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(self._grant, future)
                except RuntimeError:  # that waiter's loop is closed
                    continue
                return
            self._in_use -= 1

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
