"""The Sandbox: a pool of warm, isolated workers that run untrusted agent code one example at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from agentkit.errors import SandboxError
from agentkit.records import FAILURE_KINDS, AgentFailure

from ._config import AgentRun, LLMHandler, SandboxConfig
from ._isolation import WorkerSpec, level_notes
from ._payload import DEFAULT_RUNTIME_DIR
from ._pool import WorkerDied, WorkerProcess, WorkerTimeout, start_first_worker
from ._protocol import DEFAULT_MAX_FRAME
from ._relay import KILL_GRACE_S

logger = logging.getLogger("agentkit.sandbox")

# How long past the worker's own kill deadline the host waits before killing the worker itself.
HOST_GRACE_S = 5.0


class Sandbox:
    """Runs agent code in isolated worker processes; see `isolation_level` for how isolated.

    Use as an async context manager. `run()` picks the least busy worker (at most `config.workers` of
    them, started as examples arrive; entering starts the first), which forks a fresh child for the
    example; it answers the child's model calls with `llm` and returns an AgentRun. At most
    `config.max_examples` examples run at once. Failures of the agent code never raise.

    Example:
        >>> async with Sandbox(SandboxConfig(workers=4)) as sandbox:  # doctest: +SKIP
        ...     run = await sandbox.run(code, "What is 6*7?", answer_format="a number", llm=handler)
    """

    def __init__(self, config: SandboxConfig | None = None, *, runtime_dir: Path | str | None = None) -> None:
        """`runtime_dir` replaces the agent runtime shipped to the workers (default: agentkit/runtime)."""
        self.config = config or SandboxConfig()
        self._runtime_dir = Path(runtime_dir).resolve() if runtime_dir else DEFAULT_RUNTIME_DIR
        self._spec: WorkerSpec | None = None
        self._landlock = False
        self._workers: list[WorkerProcess] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._start_error: str | None = None
        self._changed = asyncio.Condition()
        self._examples = asyncio.Semaphore(self.config.max_examples)
        self._start_lock = asyncio.Lock()
        self._closed = False
        self.workers_started = 0
        """Worker processes started so far (replacements of dead ones included)."""

    @property
    def isolation_level(self) -> str:
        """ "bwrap+seccomp", "bwrap", "process+seccomp" or "process"; known once started."""
        if self._spec is None:
            raise SandboxError("the sandbox is not started yet (use `async with Sandbox(...)`)")
        return self._spec.level

    @property
    def isolation_notes(self) -> str:
        """What the level in force does, and what it does not protect against."""
        return level_notes(self.isolation_level, landlock=self._landlock)

    @property
    def landlock(self) -> bool:
        """True when Landlock also confines the agent children (where the kernel has it)."""
        return self._landlock

    @property
    def worker_capacity(self) -> int:
        """Examples one worker runs at once: `config.max_examples`, or 1 where the kernel cannot keep
        the children of one worker apart (no Landlock or no seccomp); known once started."""
        return max((w.capacity for w in self._workers), default=1)

    @property
    def worker_pids(self) -> list[int]:
        """Pids of the live worker processes (for diagnostics)."""
        return [w.pid for w in self._workers if w.pid is not None and w.alive]

    @property
    def _tmp_bytes(self) -> int:
        # bwrap's /tmp is shared by the children running side by side in one worker (each in its own
        # directory): room for each, as when every example had a worker of its own
        return max(32 * 2**20, 4 * self.config.max_file_bytes) * self.config.max_examples

    @property
    def _max_frame(self) -> int:
        # a "done" report holds the output and the answer, JSON-escaped (up to 12 bytes a character)
        # (and an LLM request up to max_request_chars, 12 bytes a character at worst)
        return DEFAULT_MAX_FRAME + 20 * self.config.max_output_bytes + 12 * self.config.max_request_chars

    def _worker_limit(self, capacity: int) -> int:
        # Workers that run one example at a time (children that could not be kept apart) are needed
        # one per example in flight, as many as before workers could share.
        return self.config.workers if capacity > 1 else max(self.config.workers, self.config.max_examples)

    async def start(self) -> None:
        """Pick the isolation level (probing once per process), start one worker, say the level once."""
        async with self._start_lock:
            if self._spec is not None:
                return
            if self._closed:
                raise SandboxError("the sandbox is closed")
            worker, spec = await start_first_worker(
                self.config.isolation,
                self._runtime_dir,
                tmp_bytes=self._tmp_bytes,
                max_frame=self._max_frame,
                max_children=self.config.max_examples,
            )
            self._spec = spec
            self._landlock = bool(worker.ready.get("landlock"))
            self._workers.append(worker)
            self.workers_started += 1
        log = logger.info if spec.level == "bwrap+seccomp" else logger.warning
        log("sandbox isolation level: %s: %s", spec.level, self.isolation_notes)

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every worker (and any still starting)."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        workers, self._workers = self._workers, []
        await asyncio.gather(*(w.close() for w in workers), *self._closing, return_exceptions=True)
        async with self._changed:
            self._changed.notify_all()

    async def _take_worker(self) -> WorkerProcess:
        """The least busy worker that has room, starting another when all are busy (never waiting for
        it when one has room); waits when none has room."""
        async with self._changed:
            while True:
                if self._closed:
                    raise SandboxError("the sandbox is closed")
                for worker in [w for w in self._workers if not w.alive or (w.load == 0 and not w.accepting)]:
                    self._workers.remove(worker)  # died, or retired and idle: replace it
                    closing = asyncio.get_running_loop().create_task(worker.close(graceful=False))
                    self._closing.add(closing)
                    closing.add_done_callback(self._closing.discard)
                open_ = [w for w in self._workers if w.accepting]
                busy = not open_ or min(w.load for w in open_) > 0
                limit = self._worker_limit(self.worker_capacity)
                if busy and len(self._workers) + len(self._starting) < limit:
                    self._grow()
                if open_:
                    return min(open_, key=lambda w: w.load)
                if not self._starting and self._start_error is not None:
                    error, self._start_error = self._start_error, None
                    raise SandboxError(error)
                await self._changed.wait()

    def _grow(self) -> None:
        task = asyncio.get_running_loop().create_task(self._start_worker())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _start_worker(self) -> None:
        assert self._spec is not None
        worker = WorkerProcess(
            self._spec, self._runtime_dir, max_frame=self._max_frame, max_children=self.config.max_examples
        )
        try:
            await worker.start()
        except asyncio.CancelledError:
            worker.kill()  # the sandbox is closing while this one starts
            with contextlib.suppress(Exception):
                await worker.close(graceful=False)
            raise
        except SandboxError as exc:
            logger.warning("a sandbox worker did not start: %s", exc)
            self._start_error = str(exc)
        else:
            if self._closed:
                await worker.close(graceful=False)
            else:
                self._workers.append(worker)
                self.workers_started += 1
        finally:
            async with self._changed:
                task = asyncio.current_task()
                if task is not None:
                    self._starting.discard(task)
                self._changed.notify_all()

    def _limits(self) -> dict[str, Any]:
        c = self.config
        return {
            "wall": c.wall_time_s,
            "cpu": c.cpu_time_s,
            "mem": c.memory_mb * 2**20,
            "out": c.max_output_bytes,
            "file": c.max_file_bytes,
            "llm_calls": c.max_llm_calls,
            "request_chars": c.max_request_chars,
        }

    async def run(self, code: str, question: str, *, answer_format: str, llm: LLMHandler) -> AgentRun:
        """Run agent `code` on `question` in a fresh sandboxed child; never raises for agent failures."""
        await self.start()
        task = {"code": code, "question": question, "answer_format": answer_format, "limits": self._limits()}
        hard_timeout = self.config.wall_time_s + KILL_GRACE_S + HOST_GRACE_S
        async with self._examples:
            try:
                worker = await self._take_worker()
            except SandboxError as exc:
                if self._closed:
                    raise
                return _failed("sandbox", f"could not start a sandbox worker: {exc}", 0.0)
            started = time.perf_counter()
            try:
                done = await worker.run(task, llm, hard_timeout)
            except WorkerTimeout:
                return _failed(
                    "timeout", f"wall time limit of {self.config.wall_time_s:g} s exceeded", _since(started)
                )
            except WorkerDied as exc:
                return _failed("killed", str(exc), _since(started), exc.detail)
            finally:
                async with self._changed:
                    self._changed.notify_all()
            return _to_run(done, _since(started))


def _since(started: float) -> float:
    return time.perf_counter() - started


def _failed(kind: Any, message: str, duration: float, traceback: str = "", stdout: str = "") -> AgentRun:
    return AgentRun(
        answer=None,
        error=AgentFailure(kind=kind, message=message, traceback=traceback),
        duration_s=duration,
        stdout=stdout,
    )


def _clean(text: Any) -> str:
    """A str that is valid UTF-8 (agent code can produce lone surrogates)."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def _to_run(done: dict[str, Any], duration: float) -> AgentRun:
    stdout = _clean(done.get("stdout") or "")
    error = done.get("error")
    if isinstance(error, dict):
        kind = error.get("kind")
        return _failed(
            kind if kind in FAILURE_KINDS else "sandbox",
            _clean(error.get("message", "")),
            duration,
            _clean(error.get("traceback", "")),
            stdout,
        )
    answer = done.get("answer")
    if not isinstance(answer, str):
        return _failed(
            "sandbox", "the worker reported neither an answer nor an error", duration, stdout=stdout
        )
    return AgentRun(answer=_clean(answer), error=None, duration_s=duration, stdout=stdout)
