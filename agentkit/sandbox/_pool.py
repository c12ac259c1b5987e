"""Host side of one worker process, and the choice of isolation level (probed once per process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections import deque
from pathlib import Path
from typing import Any

from agentkit.errors import SandboxError

from ._config import LLMHandler, llm_error_reply
from ._isolation import WorkerSpec, bwrap_available, bwrap_spec, process_spec, seccomp_filter
from ._payload import BOOT, build_payload
from ._protocol import DEFAULT_MAX_FRAME, HEADER, ProtocolError, encode
from ._requests import BadRequest, clean_request

START_TIMEOUT_S = 30.0
# Host-side backstops for one example (the worker enforces the same limits first).
MAX_LLM_IN_FLIGHT = 32


class WorkerDied(Exception):
    """The worker process ended or broke the protocol; `detail` has the end of its stderr."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class WorkerTimeout(Exception):
    """The worker did not report back in time (its own wall-time kill did not happen)."""


class _Running:
    """The host's side of one task in a worker: its model-call handler, limits and outcome."""

    def __init__(self, task: dict[str, Any], llm: LLMHandler) -> None:
        limits = task.get("limits") or {}
        self.llm = llm
        self.max_calls = int(limits.get("llm_calls", 200))
        self.max_chars = int(limits.get("request_chars", 400_000))
        self.calls = 0
        self.handlers: set[asyncio.Task[None]] = set()
        self.done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()


class WorkerProcess:
    """One warm worker: start it, hand it tasks (up to `capacity` at once), relay its model calls, kill it.

    One reader task reads everything the worker sends and routes it by task number, so examples that
    share the worker never wait for each other."""

    def __init__(
        self,
        spec: WorkerSpec,
        runtime_dir: Path,
        *,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_children: int = 1,
    ) -> None:
        self.spec = spec
        self._runtime_dir = runtime_dir
        self._max_frame = max_frame
        self._max_children = max_children
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=40)
        self._stderr_task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._running: dict[int, _Running] = {}
        self._seq = 0
        self._killed = False
        self._retired = False
        self.ready: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        """Pid of the process the host started (bwrap's, in bwrap mode)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        """False once the process has exited or been killed."""
        return self._proc is not None and self._proc.returncode is None and not self._killed

    @property
    def capacity(self) -> int:
        """Examples this worker runs at once (1 where its children could not be kept apart)."""
        value = self.ready.get("capacity", 1)
        return value if isinstance(value, int) and value >= 1 else 1

    @property
    def load(self) -> int:
        """Examples running in it now."""
        return len(self._running)

    @property
    def accepting(self) -> bool:
        """True while it is alive, not retiring, and below its capacity."""
        return self.alive and not self._retired and self.load < self.capacity

    def stderr_tail(self) -> str:
        """The last lines the worker wrote to stderr (its crash report, or bwrap's complaint)."""
        return "".join(self._stderr)

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        # read in chunks, not lines: a line-less flood must not grow memory
        while chunk := await self._proc.stderr.read(4096):
            self._stderr.append(chunk.decode("utf-8", "replace"))

    async def start(self, *, self_test: bool = False, timeout_s: float = START_TIMEOUT_S) -> dict[str, Any]:
        """Start the process, ship the sources and wait for its "ready" report."""
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.spec.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.spec.env,
                cwd="/",
                start_new_session=True,  # its own process group, so one killpg ends everything
            )
        except OSError as exc:
            raise SandboxError(f"cannot start a {self.spec.level} worker: {exc}") from exc
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        config = {**self.spec.worker_cfg, "self_test": self_test, "max_children": self._max_children}
        payload = build_payload(self._runtime_dir, config)
        try:
            async with asyncio.timeout(timeout_s):
                self._write(payload)
                assert self._proc.stdin is not None
                await self._proc.stdin.drain()
                msg = await self._read()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ProtocolError) as exc:
            await self.close(graceful=False)
            detail = self.stderr_tail().strip() or repr(exc)
            raise SandboxError(f"a {self.spec.level} worker failed to start: {detail}") from None
        except asyncio.CancelledError:  # a start cut short (Ctrl-C, a failed command) leaves no worker
            await asyncio.shield(self.close(graceful=False))
            raise
        if not isinstance(msg, dict) or msg.get("t") != "ready":
            await self.close(graceful=False)
            tb = msg.get("traceback", "") if isinstance(msg, dict) else ""
            raise SandboxError(f"a {self.spec.level} worker failed to start: {tb or msg!r}")
        self.ready = msg
        self._reader = asyncio.create_task(self._read_loop())
        return msg

    def _write(self, data: bytes) -> None:
        # StreamWriter.write takes the whole frame at once: frames never interleave, no lock needed
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(data)

    async def _read(self) -> Any:
        assert self._proc is not None and self._proc.stdout is not None
        header = await self._proc.stdout.readexactly(HEADER.size)
        (length,) = HEADER.unpack(header)
        if length > self._max_frame:
            raise ProtocolError(f"worker sent a frame of {length} bytes")
        data = await self._proc.stdout.readexactly(length)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"worker sent a frame that is not JSON: {type(exc).__name__}") from None

    async def _read_loop(self) -> None:
        """Read the worker's frames for as long as it lives, routing each to its task."""
        try:
            while True:
                msg = await self._read()
                seq = msg.get("seq") if isinstance(msg, dict) else None
                running = self._running.get(seq) if isinstance(seq, int) else None
                if running is None:
                    continue  # a task that was cancelled or timed out here
                if msg.get("t") == "llm":
                    self._police(msg, running)
                elif msg.get("t") == "done":
                    if msg.get("retire"):
                        self._retired = True  # it has no spawner left; the sandbox replaces it
                    if not running.done.done():
                        running.done.set_result(msg)
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError) as exc:
            self.kill()
            if self._proc is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._proc.wait()
                        if self._stderr_task is not None:
                            await self._stderr_task
            died = WorkerDied(f"the sandbox worker died ({type(exc).__name__})", self.stderr_tail())
            for running in self._running.values():
                if not running.done.done():
                    running.done.set_exception(died)

    def _police(self, msg: dict[str, Any], running: _Running) -> None:
        """Start answering one model call of a task, or refuse it when it breaks the task's limits."""
        request: dict[str, Any] | str
        if running.calls >= running.max_calls:
            request = f"the agent exceeded its limit of {running.max_calls} LLM calls per example"
        elif len(running.handlers) >= MAX_LLM_IN_FLIGHT:
            request = f"more than {MAX_LLM_IN_FLIGHT} LLM calls at once"
        else:
            try:
                request = clean_request(msg.get("req"), max_chars=running.max_chars)
                running.calls += 1
            except BadRequest as exc:
                request = str(exc)
        handler = asyncio.create_task(self._answer(msg.get("seq"), msg.get("id"), request, running.llm))
        running.handlers.add(handler)
        handler.add_done_callback(running.handlers.discard)

    async def run(self, task: dict[str, Any], llm: LLMHandler, hard_timeout_s: float) -> dict[str, Any]:
        """Run one task; answer its model calls with `llm`; return the worker's "done" report.

        Raises WorkerDied when the process breaks, WorkerTimeout when it does not answer in time
        (then the process is killed, with every task in it: it stopped enforcing the limits itself).
        Cancelling it asks the worker to kill just this task's child.
        """
        if self._reader is None or not self.alive:
            raise WorkerDied("the sandbox worker is not running", self.stderr_tail())
        self._seq += 1
        seq = self._seq
        running = self._running[seq] = _Running(task, llm)
        finished = False
        try:
            async with asyncio.timeout(hard_timeout_s):
                self._write(encode({**task, "t": "task", "seq": seq}))
                done = await running.done
                finished = True
                return done
        except TimeoutError:
            self.kill()
            raise WorkerTimeout() from None
        except (ConnectionError, RuntimeError) as exc:
            self.kill()
            raise WorkerDied(f"the sandbox worker died ({type(exc).__name__})", self.stderr_tail()) from None
        finally:
            del self._running[seq]
            for handler in running.handlers:
                handler.cancel()
            if not finished and self.alive:
                with contextlib.suppress(ConnectionError, RuntimeError, OSError):
                    self._write(encode({"t": "cancel", "seq": seq}))  # cancelled: stop its child only

    async def _answer(self, seq: Any, rid: Any, request: dict[str, Any] | str, llm: LLMHandler) -> None:
        """Reply to one model call: `request` is the cleaned request, or why it was refused."""
        response: Any
        if isinstance(request, str):
            response = {"error": request, "error_kind": "llm"}
        else:
            try:
                response = await llm(request)
            except Exception as exc:  # the handler's failure is the agent's LLM error, not ours
                response = llm_error_reply(exc)
            if not isinstance(response, dict):
                response = {"error": f"LLM handler returned {type(response).__name__}", "error_kind": "llm"}
        if self.alive:
            with contextlib.suppress(ConnectionError, RuntimeError, OSError):
                self._write(encode({"t": "llm_reply", "seq": seq, "id": rid, "resp": response}))

    def kill(self) -> None:
        """Kill the worker's whole process group (bwrap takes the sandbox down with it)."""
        self._killed = True
        if self._proc is None or self._proc.returncode is not None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def close(self, *, graceful: bool = True) -> None:
        """Stop the worker (closing its stdin lets it clean up and exit) and reap it."""
        proc = self._proc
        if proc is None:
            return
        if graceful and proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError, OSError):
                proc.stdin.close()
            try:
                async with asyncio.timeout(2.0):
                    await proc.wait()
            except TimeoutError:
                pass
        self.kill()
        if proc.stdin is not None:  # the transport closes once every pipe is: no late close at GC
            with contextlib.suppress(ConnectionError, RuntimeError, OSError):
                proc.stdin.close()
        await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, Exception):
                async with asyncio.timeout(2.0):
                    await self._reader
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError, Exception):
                async with asyncio.timeout(2.0):
                    await self._stderr_task
        self._remove_private_tmp()

    def _remove_private_tmp(self) -> None:
        # Without bwrap the worker's temp dir is on the host; it removes it itself on a clean exit.
        tmp = self.ready.get("tmp")
        if self.spec.worker_cfg.get("tmp_dir") is not None or not isinstance(tmp, str):
            return
        base = os.path.realpath(tempfile.gettempdir())
        real = os.path.realpath(tmp)
        if os.path.dirname(real) == base and os.path.basename(real).startswith("agentkit-sandbox-"):
            shutil.rmtree(real, ignore_errors=True)


# requested isolation -> (kind, with seccomp) that worked; probed once per host process
_RESOLVED: dict[str, tuple[str, bool]] = {}


def _candidates(requested: str) -> list[tuple[str, bool]]:
    kinds = {"auto": ["bwrap", "process"], "bwrap": ["bwrap"], "process": ["process"]}[requested]
    seccomp_options = [True, False] if seccomp_filter() is not None else [False]
    return [(kind, sec) for kind in kinds for sec in seccomp_options]


def make_spec(kind: str, seccomp: bool, *, tmp_bytes: int) -> WorkerSpec:
    """The worker recipe for an isolation kind ("bwrap" or "process") with or without seccomp."""
    if kind == "bwrap":
        return bwrap_spec(BOOT, tmp_bytes=tmp_bytes, seccomp=seccomp)
    return process_spec(BOOT, seccomp=seccomp)


async def start_first_worker(
    requested: str,
    runtime_dir: Path,
    *,
    tmp_bytes: int,
    max_frame: int = DEFAULT_MAX_FRAME,
    max_children: int = 1,
) -> tuple[WorkerProcess, WorkerSpec]:
    """Start a worker at the strongest level that works (self-tested the first time in a process)."""
    cached = _RESOLVED.get(requested)
    candidates = [cached] if cached is not None else _candidates(requested)
    problems: list[str] = []
    for kind, seccomp in candidates:
        if kind == "bwrap" and not bwrap_available():
            problems.append("bwrap: not installed (apt-get install bubblewrap)")
            continue
        spec = make_spec(kind, seccomp, tmp_bytes=tmp_bytes)
        worker = WorkerProcess(spec, runtime_dir, max_frame=max_frame, max_children=max_children)
        try:
            ready = await worker.start(self_test=cached is None)
        except SandboxError as exc:
            problems.append(f"{spec.level}: {exc}")
            continue
        test = ready.get("self_test")
        if isinstance(test, dict) and not test.get("ok"):
            problems.append(f"{spec.level}: self-test failed: {test.get('detail')}")
            await worker.close(graceful=False)
            continue
        _RESOLVED[requested] = (kind, seccomp)
        return worker, spec
    if cached is not None:
        # the cached choice stopped working (e.g. bwrap removed): probe again from scratch
        _RESOLVED.pop(requested, None)
        return await start_first_worker(
            requested, runtime_dir, tmp_bytes=tmp_bytes, max_frame=max_frame, max_children=max_children
        )
    raise SandboxError(
        f"no sandbox isolation level works for isolation={requested!r}: " + "; ".join(problems)
    )
