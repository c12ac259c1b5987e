"""The worker's side of one example: relay the child's model calls to the host, police the child, and
turn how it ended into an answer or a failure record.

STDLIB ONLY: shipped as source into the sandbox worker (see `_worker`).

Each child gets three fresh pipes (requests to the worker, the task and replies from the worker,
captured stdout+stderr); the worker relays model calls between child and host, so a child that dies
mid-write can never corrupt the host's stream. The worker also polices them: it numbers requests itself
(a child cannot answer for another request), caps their size, their number per example and how many
are in flight, and stops reading a child that outruns those limits.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections import deque
from typing import Any

from ._classify import HOST_KINDS, failure
from ._protocol import FrameDecoder, ProtocolError, encode, write_all

# How long after the wall limit (which the child enforces on itself with SIGALRM, to get a traceback)
# the worker stops waiting and kills the child.
KILL_GRACE_S = 1.0
# How long the worker waits for the spawner to report a child it has killed; past it, the worker retires.
REAP_TIMEOUT_S = 10.0
# How long the worker keeps reading a dead child's pipes for the last of its output and frames.
DRAIN_S = 0.5
# Model calls of one example waiting for the host at once; past it the worker stops reading the child.
MAX_LLM_IN_FLIGHT = 32
# Replies the child has not read yet, in bytes; past it the worker stops reading the child's requests.
MAX_REPLY_BACKLOG = 8 * 2**20
# Defaults for limits the host normally sends with each task.
DEFAULT_LLM_CALLS = 200
DEFAULT_REQUEST_CHARS = 400_000

Outcome = tuple[str | None, dict[str, Any] | None]
"""(answer, None) or (None, failure record {kind, message, traceback})."""


class HostChannel:
    """The worker's pipes to the host: frames out, and an inbox of the frames that came in."""

    def __init__(self, ctl_in: int, ctl_out: int) -> None:
        self.ctl_in = ctl_in
        self.ctl_out = ctl_out
        self.decoder = FrameDecoder()
        self.inbox: deque[Any] = deque()
        self.outbox = bytearray()

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message for the host (sent by `flush`)."""
        self.outbox += encode(message)

    def write(self, frame: bytes) -> None:
        """Queue a frame for the host (sent by `flush`)."""
        self.outbox += frame

    def flush(self) -> None:
        """Send what is queued, in one write where the pipe takes it (the worker does this once per
        round of its loop: many examples' frames for one system call)."""
        if self.outbox:
            data, self.outbox = bytes(self.outbox), bytearray()
            write_all(self.ctl_out, data)

    def read(self) -> bool:
        """Read what the host has sent into the inbox; False when the host has gone."""
        try:
            data = os.read(self.ctl_in, 1 << 16)
        except InterruptedError:
            return True
        if not data:
            return False
        self.inbox.extend(self.decoder.feed(data))
        return True


class Relay:
    """One running example, seen from the worker: the child's pipes, the calls it has waiting at the
    host, and what is known so far of how it ends.

    The worker drives many of these at once from one poll loop (`poller` is shared): it hands each the
    events on its pipes (`on_event`), the host's replies (`on_reply`) and the spawner's reports of the
    child's pid (`on_spawned`) and exit (`on_exit`), and calls `step` after each. It takes the outcome
    (`settle`) as soon as the child has `answered` (where children share a worker) or once `step` says
    the child is gone, and calls `close` then."""

    def __init__(
        self,
        host: HostChannel,
        poller: Any,
        task: dict[str, Any],
        fds: tuple[int, int, int],
        *,
        started: float,
        failure_kinds: frozenset[str],
        own_group: bool,
        tmp: str | None = None,
    ) -> None:
        self.host = host
        self.poller = poller
        # the child's pid and pidfd, known once the spawner has answered (`on_spawned`)
        self.pid: int | None = None
        self.pidfd: int | None = None
        self.seq = task.get("seq")
        self.limits: dict[str, Any] = task["limits"]
        self.failure_kinds = failure_kinds
        self.own_group = own_group
        self.c2w, self.w2c, self.out = fds
        self.tmp = tmp
        self.out_limit = int(self.limits["out"])
        self.cpu_limit = float(self.limits["cpu"])
        self.max_calls = int(self.limits.get("llm_calls", DEFAULT_LLM_CALLS))
        # JSON (ASCII) takes up to 12 bytes for a character; the host checks the exact count
        self.max_request = 12 * int(self.limits.get("request_chars", DEFAULT_REQUEST_CHARS)) + 65536
        self.started = started
        self.deadline = started + float(self.limits["wall"]) + KILL_GRACE_S
        self.child_decoder = FrameDecoder(max_frame=max(self.max_request, 12 * self.out_limit + 2**20))
        for fd in fds:
            os.set_blocking(fd, False)
        self.watching: dict[int, int] = {}  # fd -> poll events registered on the shared poller
        self.open_fds = {self.c2w, self.out}
        self._watch(self.out, select.EPOLLIN)
        child_task = {key: task[key] for key in ("code", "question", "answer_format", "limits")}
        if tmp is not None:
            child_task["tmp"] = tmp
        self.to_child = bytearray(encode(child_task))
        self.held: deque[tuple[Any, int]] = deque()  # frames read from the child, not yet acted on
        self.pending: dict[int, Any] = {}  # our request id -> the child's
        self.calls = 0
        self.reading_child = False
        self.heard = False  # the child has sent something (so it is past its start-up)
        self.reported = False  # the outcome has gone to the host (`settle`)
        self.captured = bytearray()
        self.total_out = 0
        self.final: dict[str, Any] | None = None
        self.killed: str | None = None
        self.killed_at: float | None = None
        self.status: int | None = None
        self.cpu_used = 0.0
        self.drain_until: float | None = None
        self.reap_lost = False  # killed, and the spawner never reported the exit: the worker retires
        # Only a reply from the host can make a model call fail for budget or because of the provider;
        # the child cannot claim either: the kinds the host really answered with.
        self.host_kinds: set[str] = set()

    # -- driven by the worker ------------------------------------------------------------------------------

    @property
    def wake_at(self) -> float:
        """When `step` must run even if nothing happens on the pipes (a deadline, the end of the drain)."""
        if self.status is not None:
            return self.drain_until if self.drain_until is not None else 0.0
        if self.killed_at is not None:
            return self.killed_at + REAP_TIMEOUT_S
        return self.deadline

    def step(self, now: float) -> bool:
        """Act on what came in; True once the child has exited and its pipes are drained (or the drain
        time is up). Kills a child past its deadline."""
        self._act_on_held()
        if self._done(now):
            return True
        self._write_replies()
        self._pace_child()
        return False

    def on_event(self, fd: int) -> None:
        """`fd` (one of the child's pipes) is ready."""
        if fd in (self.c2w, self.out):
            self._read_child(fd)

    def starting(self, now: float, window: float) -> bool:
        """Forked less than `window` seconds ago and not yet heard from: still setting itself up."""
        return not self.heard and self.status is None and self.killed is None and now < self.started + window

    def on_spawned(self, pid: int, pidfd: int | None) -> None:
        """The spawner has forked the child; a kill asked for before it existed is carried out now."""
        self.pid, self.pidfd = pid, pidfd
        if self.killed is not None:
            self._signal_child()

    def on_exit(self, status: int, cpu: float) -> None:
        """The spawner reaped the child."""
        self.status, self.cpu_used = status, cpu

    def on_spawner_gone(self) -> None:
        """The spawner is gone (and, with it, the child): no exit status will come."""
        self.kill("spawner_gone")
        self.status = -1

    @property
    def answered(self) -> bool:
        """The child has sent its last message (its answer or its own error) and broke no rule: the
        outcome is known before it exits (`settle`)."""
        return self.final is not None and self.killed is None and not self.reported

    def settle(self) -> Outcome:
        """The verdict, with what the child printed read to the end first (it printed it before its
        last message). A child still running is killed: its work is over, and it may have sent its
        last message early and gone on."""
        while self.out in self.open_fds and self._read_child(self.out):
            pass
        self.reported = True
        outcome = self.verdict()
        self._signal_child()
        return outcome

    def close(self) -> None:
        """Stop watching and close the pipes (the child is reaped by now)."""
        for fd in list(self.watching):
            self.poller.unregister(fd)
        self.watching.clear()
        for fd in (self.c2w, self.w2c, self.out):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.own_group and self.pid is not None:  # what the child forked must not outlive the example
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def _watch(self, fd: int, events: int) -> None:
        if self.watching.get(fd) != events:
            if fd in self.watching:
                self.poller.modify(fd, events)
            else:
                self.poller.register(fd, events)
            self.watching[fd] = events

    def _unwatch(self, fd: int) -> None:
        if self.watching.pop(fd, None) is not None:
            self.poller.unregister(fd)

    def _done(self, now: float) -> bool:
        if self.status is not None:
            if not self.open_fds:
                return True
            if self.drain_until is None:
                self.drain_until = now + DRAIN_S
            elif now >= self.drain_until:
                return True
        elif self.killed_at is not None and now >= self.killed_at + REAP_TIMEOUT_S:
            self.reap_lost = True
            self.status = -1
            return True
        elif now >= self.deadline:
            self.kill("timeout")
        return False

    def stdout(self) -> str:
        """What the child printed, cut at the output limit (saying so)."""
        text = bytes(self.captured[: self.out_limit]).decode("utf-8", "replace")
        if self.total_out > self.out_limit:
            text += f"\n[output cut at {self.out_limit} bytes]"
        return text

    def kill(self, reason: str) -> None:
        if self.killed is None:
            self.killed = reason
            self.killed_at = time.monotonic()
        self._signal_child()

    def _signal_child(self) -> None:
        if self.status is not None or self.pid is None:
            return  # reaped (its pid may belong to another child by now), or not forked yet
        if self.own_group:  # the child and whatever it forked (it may not have its group yet)
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            if self.pidfd is not None:  # cannot hit a recycled pid once the spawner has reaped the child
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    # -- reading -------------------------------------------------------------------------------------------

    def _stop_reading(self, fd: int) -> None:
        self._unwatch(fd)
        self.open_fds.discard(fd)
        if fd == self.c2w:
            self.reading_child = False

    def _read_child(self, fd: int) -> bool:
        """Read the child's requests or its printed output, whichever pipe is ready; False when there
        was nothing to read."""
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        if not data:
            self._stop_reading(fd)
            return False
        if fd == self.out:
            self.total_out += len(data)
            room = self.out_limit - len(self.captured)
            if room > 0:
                self.captured += data[:room]
            if self.total_out > self.out_limit:
                self.kill("output")
                self._stop_reading(fd)
        else:
            self.heard = True
            try:
                self.held.extend(self.child_decoder.feed_sized(data))
            except ProtocolError as exc:
                self.kill("oversize" if "exceeds" in str(exc) else "protocol")
                self._stop_reading(fd)
                return True
            # result frames may sit behind requests that wait for room; look at them now
            for frame, _size in self.held:
                if isinstance(frame, dict) and frame.get("t") in ("result", "error"):
                    self.final = self.final or frame
        return True

    # -- policing and forwarding -----------------------------------------------------------------------------

    def _act_on_held(self) -> None:
        while self.held and self.killed is None and len(self.pending) < MAX_LLM_IN_FLIGHT:
            if len(self.to_child) >= MAX_REPLY_BACKLOG:
                break
            self._police(*self.held.popleft())

    def _police(self, frame: Any, size: int) -> None:
        """Act on one frame from the child: note its result, or forward its model call if the limits allow."""
        if not isinstance(frame, dict):
            self.kill("protocol")
            return
        kind = frame.get("t")
        if kind in ("result", "error"):
            if self.final is None:
                self.final = frame
            return
        if kind != "llm":
            return
        child_id = frame.get("id") if isinstance(frame.get("id"), int) else None
        request = frame.get("req")
        if not isinstance(request, dict):
            self._refuse(child_id, "malformed LLM request")
        elif self.calls >= self.max_calls:
            self._refuse(child_id, f"the agent exceeded its limit of {self.max_calls} LLM calls per example")
        elif size > self.max_request:
            self._refuse(child_id, f"an LLM request of {size} bytes is over the size limit")
        else:
            self._forward(child_id, request)

    def _refuse(self, child_id: Any, error: str) -> None:
        self.to_child += encode({"id": child_id, "resp": {"error": error, "error_kind": "llm"}})

    def _forward(self, child_id: Any, request: dict[str, Any]) -> None:
        """Send one model call to the host under our own request number."""
        try:
            data = encode({"t": "llm", "seq": self.seq, "id": self.calls + 1, "req": request})
        except (ValueError, TypeError, RecursionError):
            self._refuse(child_id, "the LLM request cannot be encoded")
            return
        self.calls += 1
        self.pending[self.calls] = child_id
        self.host.write(data)

    # -- replies ---------------------------------------------------------------------------------------------

    def on_reply(self, msg: dict[str, Any]) -> None:
        """Queue for the child the host's reply to one of its model calls."""
        rid = msg.get("id")
        if isinstance(rid, int) and rid in self.pending:
            resp = msg.get("resp")
            if isinstance(resp, dict) and resp.get("error_kind") in HOST_KINDS:
                self.host_kinds.add(str(resp["error_kind"]))
            self.to_child += encode({"id": self.pending.pop(rid), "resp": resp})

    def _write_replies(self) -> None:
        if self.to_child:
            try:
                written = os.write(self.w2c, self.to_child)
                del self.to_child[:written]
            except BlockingIOError:
                pass
            except OSError:
                self.to_child.clear()  # the child closed its end; it has no use for replies
        if self.to_child:
            self._watch(self.w2c, select.EPOLLOUT)
        else:
            self._unwatch(self.w2c)

    def _pace_child(self) -> None:
        """Back-pressure: a child that floods requests, or does not read its replies, is not read."""
        want_child = (
            self.c2w in self.open_fds
            and not self.held
            and len(self.pending) < MAX_LLM_IN_FLIGHT
            and len(self.to_child) < MAX_REPLY_BACKLOG
        )
        if want_child != self.reading_child:
            if want_child:
                self._watch(self.c2w, select.EPOLLIN)
            else:
                self._unwatch(self.c2w)
            self.reading_child = want_child

    # -- the verdict -----------------------------------------------------------------------------------------

    def verdict(self) -> Outcome:
        """The answer, or a failure record saying how the child ended without one."""
        limits, final, killed = self.limits, self.final, self.killed
        status = None if self.status == -1 else self.status  # -1: gone unreported with the spawner
        if killed == "output":
            return None, failure("output_limit", f"printed more than the limit of {limits['out']} bytes")
        if killed == "oversize":
            return None, failure("output_limit", "the agent sent a message over the size limit")
        if killed == "protocol":
            return None, failure("killed", "the agent process wrote garbage to its channel to the host")
        if final is not None and final.get("t") == "result" and isinstance(final.get("answer"), str):
            answer: str = final["answer"]
            if len(answer) > int(limits["out"]):  # checked here too: the child may forge its result
                return None, failure(
                    "output_limit",
                    f"the answer has {len(answer)} characters, over the limit of {limits['out']}",
                )
            return answer, None
        if final is not None and final.get("t") == "error":
            kind = final.get("kind")
            if kind not in self.failure_kinds or (kind in HOST_KINDS and kind not in self.host_kinds):
                kind = "exception"
            return None, failure(str(kind), str(final.get("message", "")), str(final.get("traceback", "")))
        if killed == "timeout":
            return None, failure("timeout", f"wall time limit of {limits['wall']:g} s exceeded (killed)")
        tail = bytes(self.captured[-4000:]).decode("utf-8", "replace")
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and self.cpu_used >= self.cpu_limit):
                return None, failure("timeout", f"CPU time limit of {self.cpu_limit:g} s exceeded (killed)")
            if sig == signal.SIGSYS:
                return None, failure("killed", "the agent made a forbidden system call (seccomp)")
            if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and (
                "MemoryError" in tail or "memory" in tail.lower()
            ):
                return None, failure(
                    "memory", f"out of memory at the limit of {limits['mem'] // 2**20} MB", tail
                )
            return None, failure("killed", f"the agent process was killed by {name}", tail)
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else -1
        return None, failure("killed", f"the agent process exited (status {code}) without an answer", tail)
