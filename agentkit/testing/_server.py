"""A fake OpenAI-compatible chat-completions server over real HTTP on 127.0.0.1.

The LLM client is tested through its real network stack (litellm -> httpx -> socket), so retries,
timeouts and dropped connections behave as they would against a provider. The server runs its own
event loop in a daemon thread, which lets sync tests, async tests and benchmarks share it.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from agentkit.testing._replies import (
    FakeReply,
    Fault,
    Reply,
    Responder,
    default_responder,
    prompt_word_count,
    word_count,
)

if TYPE_CHECKING:
    from agentkit.llm import ModelConfig

RuleReply = Reply | Callable[[dict[str, Any]], Reply]
"""What a rule answers: a fixed reply, or a function of the request body."""

_MALFORMED_BODY = '{"id": "chatcmpl-broken", "choices": [{"message": {"content": "tru'

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


class FakeOpenAIServer:
    """An OpenAI-compatible `/v1/chat/completions` server for tests and benchmarks.

    Every request is answered by, in order: the outage fault while one is set (`set_down`), the next
    injected `Fault` (one per request, FIFO), a fault drawn at the rates of `inject_randomly`, the
    first rule whose predicate matches, the `responder`, and finally `default_responder` (also used
    when the responder returns None). Replies wait `latency_s` plus a uniform jitter in
    [-jitter_s, +jitter_s] (seeded, never below 0) unless a `FakeReply` sets its own latency.

    Use it as a context manager (`with FakeOpenAIServer() as server: ...`) or call `start()` and
    `stop()`; `base_url` is what a client takes as `api_base`.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency_s: float = 0.0,
        jitter_s: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.responder = responder
        self.latency_s = latency_s
        self.jitter_s = jitter_s
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[tuple[Callable[[dict[str, Any]], bool], RuleReply]] = []
        self._faults: deque[Fault] = deque()
        self._random_faults: list[tuple[Fault, float]] = []
        self._fault_rng = random.Random(seed)
        self._down: Fault | None = None
        self._requests: list[dict[str, Any]] = []
        self._delays: list[float] = []
        self._responder_errors: list[str] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._gathering: tuple[int, float] | None = None
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> FakeOpenAIServer:
        """Start serving on a free loopback port; returns self. Starting twice is a no-op."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve, args=(sock, ready, failure), name=f"fake-openai-{self._port}", daemon=True
        )
        self._thread = thread
        thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError(f"fake OpenAI server did not start within {timeout_s} s")
        if failure:
            self._thread = None
            thread.join(timeout_s)
            raise RuntimeError("fake OpenAI server failed to start") from failure[0]
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and free the port. Requests still waiting (e.g. a hang) are cancelled."""
        thread, loop, runner = self._thread, self._loop, self._runner
        if thread is None or loop is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout_s)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        self._thread = self._loop = self._runner = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self._setup(sock))
                self._loop = loop
            except BaseException as exc:
                failure.append(exc)
                sock.close()
                return
            finally:
                ready.set()
            loop.run_forever()
        finally:
            loop.close()

    async def _setup(self, sock: socket.socket) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/chat/completions", self._handle_chat)
            app.router.add_get(f"{prefix}/models", self._handle_models)
        # handler_cancellation: a client that gives up (timeout) cancels its handler, so a hang
        # does not stay "in flight" after the client is gone; shutdown_timeout keeps stop() quick.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2)
        await runner.setup()
        await web.SockSite(runner, sock, shutdown_timeout=0.2).start()
        self._runner = runner

    # --- configuration and observation ---------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (only valid once started)."""
        if self._port is None:
            raise RuntimeError("the fake OpenAI server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, "http://127.0.0.1:PORT/v1"."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of every chat-completions request body received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def delays(self) -> list[float]:
        """Seconds each answered request was held before its reply (latency plus jitter, or the
        `FakeReply`'s own), in the order the waits began: what a test checks instead of timing a reply
        on a loaded machine."""
        with self._lock:
            return list(self._delays)

    @property
    def in_flight(self) -> int:
        """Chat requests received and not yet answered."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most chat requests that were in flight at once since start (or the last `reset`)."""
        return self._max_in_flight

    @property
    def pending_faults(self) -> int:
        """Injected faults not yet consumed."""
        with self._lock:
            return len(self._faults)

    @property
    def responder_errors(self) -> list[str]:
        """Exceptions raised by responders or rules (each was answered with a 500)."""
        with self._lock:
            return list(self._responder_errors)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each following request consumes one (FIFO) before normal replies resume."""
        with self._lock:
            self._faults.extend(faults)

    def inject_randomly(self, rates: Sequence[tuple[Fault, float]], *, seed: int | None = None) -> None:
        """From now on, play each fault of `rates` on that share of the requests no queued fault
        claims (e.g. ``[(Fault.status(429), 0.1), (Fault.disconnect(), 0.05)]``), drawn from a
        seeded generator; an empty list stops it."""
        if sum(rate for _, rate in rates) > 1.0:
            raise ValueError("fault rates add up to more than 1")
        with self._lock:
            self._random_faults = list(rates)
            if seed is not None:
                self._fault_rng = random.Random(seed)

    def set_down(self, fault: Fault | None = None) -> None:
        """Simulate an outage: every request plays `fault` until `set_up` (default: HTTP 503)."""
        with self._lock:
            self._down = fault if fault is not None else Fault.status(503)

    def set_up(self) -> None:
        """End an outage started by `set_down`."""
        with self._lock:
            self._down = None

    def _next_fault(self) -> Fault | None:
        # Called with the lock held.
        if self._down is not None:
            return self._down
        if self._faults:
            return self._faults.popleft()
        if self._random_faults:
            draw = self._fault_rng.random()
            for fault, rate in self._random_faults:
                if draw < rate:
                    return fault
                draw -= rate
        return None

    def add_rule(self, predicate: Callable[[dict[str, Any]], bool], reply: RuleReply) -> None:
        """Answer requests for which `predicate(body)` is true with `reply` (checked in order added)."""
        with self._lock:
            self._rules.append((predicate, reply))

    def gather_requests(self, count: int | None, *, timeout_s: float = 30.0) -> None:
        """Hold each request, before its latency, until `count` requests are in flight at once (then
        all go on), or `timeout_s` after it arrived. A test that a client keeps `count` requests in
        flight then needs no timing luck: `max_in_flight` reaches `count` exactly when the client allows
        it. Once reached, later requests are not held. None stops holding."""
        with self._lock:
            self._gathering = None if count is None else (max(1, count), timeout_s)

    def reset(self) -> None:
        """Forget recorded requests and delays, responder errors, pending faults and the in-flight maximum."""
        with self._lock:
            self._requests.clear()
            self._delays.clear()
            self._responder_errors.clear()
            self._faults.clear()
            self._max_in_flight = self._in_flight

    # --- request handling ----------------------------------------------------------------------

    def _delay(self) -> float:
        jitter = self._rng.uniform(-self.jitter_s, self.jitter_s) if self.jitter_s > 0 else 0.0
        return max(0.0, self.latency_s + jitter)

    def _reply_for(self, body: dict[str, Any]) -> FakeReply:
        with self._lock:
            rules = list(self._rules)
        reply: Reply | None = None
        for predicate, rule_reply in rules:
            if predicate(body):
                reply = rule_reply(body) if callable(rule_reply) else rule_reply
                break
        if reply is None and self.responder is not None:
            reply = self.responder(body)
        if reply is None:
            reply = default_responder(body)
        return reply if isinstance(reply, FakeReply) else FakeReply(content=reply)

    def _completion(self, body: dict[str, Any], reply: FakeReply) -> dict[str, Any]:
        prompt_tokens = reply.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = prompt_word_count(body)
        completion_tokens = reply.completion_tokens
        if completion_tokens is None:
            completion_tokens = word_count(reply.content)
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or "fake"),
            "system_fingerprint": "fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    async def _handle_models(self, request: web.Request) -> web.Response:
        model = {"id": "fake", "object": "model", "created": 0, "owned_by": "agentkit"}
        return web.json_response({"object": "list", "data": [model]})

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(_error_body(400, "request body is not JSON"), status=400)
        if not isinstance(body, dict):
            return web.json_response(_error_body(400, "request body is not a JSON object"), status=400)
        with self._lock:
            self._requests.append(body)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            fault = self._next_fault()
        try:
            if fault is not None:
                response = await self._play_fault(request, fault)
                if response is not None:
                    return response
            if body.get("stream"):
                return web.json_response(
                    _error_body(400, "the fake server does not support stream=true"), status=400
                )
            try:
                reply = self._reply_for(body)
            except Exception as exc:
                with self._lock:
                    self._responder_errors.append(repr(exc))
                return web.json_response(_error_body(500, f"responder raised {exc!r}"), status=500)
            await self._gather()
            delay = reply.latency_s if reply.latency_s is not None else self._delay()
            with self._lock:
                self._delays.append(delay)
            if delay > 0:
                await asyncio.sleep(delay)
            return web.json_response(self._completion(body, reply))
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _gather(self) -> None:
        gathering = self._gathering
        if gathering is None:
            return
        count, timeout_s = gathering
        deadline = time.monotonic() + timeout_s
        while self._in_flight < count and self._gathering is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        with self._lock:
            if self._in_flight >= count:
                self._gathering = None  # reached: nobody waits any more

    async def _play_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        """Play `fault`; None means "now answer normally" (after a hang)."""
        if fault.kind == "status":
            headers: dict[str, str] = {}
            if fault.retry_after is not None and fault.retry_after_date:
                headers["Retry-After"] = email.utils.formatdate(time.time() + fault.retry_after, usegmt=True)
            elif fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
                headers["retry-after-ms"] = f"{fault.retry_after * 1000:.0f}"
            message = f"fake server fault: HTTP {fault.status_code}"
            return web.json_response(
                _error_body(fault.status_code, message), status=fault.status_code, headers=headers
            )
        if fault.kind == "malformed_json":
            return web.Response(status=200, text=_MALFORMED_BODY, content_type="application/json")
        if fault.kind == "disconnect":
            transport = request.transport
            if transport is not None:
                transport.close()
            # Nothing can be sent any more; raising ends the handler without a write attempt.
            raise asyncio.CancelledError
        await asyncio.sleep(fault.seconds)
        return None


def model_config_for(server: FakeOpenAIServer, **overrides: Any) -> ModelConfig:
    """A `ModelConfig` that talks to `server`: model "openai/fake", its base URL, api_key "x".

    Keyword arguments override any field (e.g. `timeout_s=0.5, max_attempts=2`).
    """
    from agentkit.llm import ModelConfig

    fields: dict[str, Any] = {"model": "openai/fake", "api_base": server.base_url, "api_key": "x"}
    fields.update(overrides)
    return ModelConfig(**fields)
