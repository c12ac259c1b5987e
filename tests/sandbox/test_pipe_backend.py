"""The child's LLM backend: callers share the pipe with no reader thread of its own."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agentkit.sandbox._child import PipeBackend
from agentkit.sandbox._protocol import FrameDecoder, encode, write_all


def _peer(requests_r: int, replies_w: int, expected: int) -> None:
    """Collect `expected` requests, then answer them in reverse order (plus a reply nobody asked for)."""
    decoder = FrameDecoder()
    got: list[dict[str, Any]] = []
    while len(got) < expected:
        got.extend(decoder.feed(os.read(requests_r, 1 << 16)))
    write_all(replies_w, encode({"id": 999, "resp": {"fields": {}, "raw": "stray"}}))
    for frame in reversed(got):
        write_all(replies_w, encode({"id": frame["id"], "resp": {"raw": frame["req"]["q"]}}))


def test_concurrent_callers_each_get_their_own_reply_without_a_reader_thread() -> None:
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    backend = PipeBackend(rep_r, req_w)
    n = 8
    peer = threading.Thread(target=_peer, args=(req_r, rep_w, n))
    peer.start()
    before = threading.active_count()
    with ThreadPoolExecutor(max_workers=n) as pool:
        replies = list(pool.map(lambda i: backend.chat({"q": f"q{i}"}), range(n)))
        assert threading.active_count() <= before + n  # the pool's threads, none of the backend's
    peer.join()
    assert [r["raw"] for r in replies] == [f"q{i}" for i in range(n)]
    for fd in (req_r, req_w, rep_r, rep_w):
        os.close(fd)


def test_a_single_caller_starts_no_thread_and_a_closed_channel_fails_the_call() -> None:
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    backend = PipeBackend(rep_r, req_w)
    write_all(rep_w, encode({"id": 1, "resp": {"raw": "first"}}))
    before = threading.active_count()
    assert backend.chat({"q": "a"}) == {"raw": "first"}
    assert threading.active_count() == before
    os.close(rep_w)  # the worker went away
    reply = backend.chat({"q": "b"})
    assert reply["error_kind"] == "llm" and "closed" in reply["error"]
    assert backend.chat({"q": "c"})["error_kind"] == "llm"
    for fd in (req_r, req_w, rep_r):
        os.close(fd)
