"""The reply cache across the cluster: one cache service, on the driver's node, that every actor asks.

Why one service and not a cache per node merged into the run afterwards: a per-node cache misses
what another node already paid for during the run (the same prompt asked by two agents on two nodes
is paid twice), and the merge is one more step that a killed driver can skip, losing replies paid
for. The service answers every actor from the driver's own cache file, the very file a local run
uses, so a local run and a cluster run of the same command share their replies, and a resumed run
gets every reply any node received. One lookup is a small RPC (about a millisecond) next to a model
call of hundreds of milliseconds or more; see the README for where that stops being small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentkit.llm import CachedReply, ReplyCache


class CacheService:
    """The driver's SQLite reply cache, served to the cluster (runs as a threaded Ray actor)."""

    def __init__(self, cache_dir: str) -> None:
        self._cache = ReplyCache(Path(cache_dir))

    def get(self, key: str) -> CachedReply | None:
        """The stored reply for `key`, or None."""
        return self._cache.get(key)

    def put(self, key: str, model: str, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Store a reply (first writer wins)."""
        self._cache.put(
            key, model=model, text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    def close(self) -> None:
        """Close the file (it reopens on next use)."""
        self._cache.close()


class RemoteReplyStore:
    """`agentkit.llm.ReplyStore` over the `CacheService` actor (the client calls it from a thread)."""

    def __init__(self, service: Any) -> None:
        self._service = service

    def get(self, key: str) -> CachedReply | None:
        """Ask the service; waits for its answer (the client runs this in a worker thread)."""
        import ray

        found: CachedReply | None = ray.get(self._service.get.remote(key))
        return found

    def put(self, key: str, *, model: str, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Store at the service and wait until it is written (a result returned after this is
        backed by a stored reply, so a resumed run finds it)."""
        import ray

        ray.get(self._service.put.remote(key, model, text, prompt_tokens, completion_tokens))

    def close(self) -> None:
        """Nothing to close here: the service belongs to the driver."""
