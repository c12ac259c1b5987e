"""One run, one writer: an exclusive OS-level lock on a run directory.

Every command that writes to a run (a search, `--resume`, `import-adas`, `eval --run`, a sweep cell) takes
the run's lock before it writes anything and holds it until it exits. The lock is `fcntl.flock` on
``<run_dir>/run.lock``: the kernel releases it when the holder's last file descriptor closes, so a process
that is killed (SIGKILL, OOM, power loss of a machine sharing the folder) never leaves a stale lock, and
the next writer can start at once.

The lock file also says who holds it (pid, host, command line, since when, as JSON), so a second writer
is refused with a `RunLocked` error naming the holder, and read-only commands (`show`, `report`,
`export`, `manual`) can say that the run is in progress (`lock_holder`). The file stays in the directory
when the lock is released; only a held lock means anything.

Example:
    >>> with RunLock.acquire(run_dir):  # doctest: +SKIP
    ...     ...  # write to the run
    >>> lock_holder(run_dir)  # doctest: +SKIP
    LockHolder(pid=4242, host='gpu-3', command='agentkit search --resume archives/r', since='...')
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import threading
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel

from agentkit.errors import ArchiveError, RunLocked

LOCK_NAME = "run.lock"

# A reader checking whether the run is held takes a shared lock for an instant; a writer that finds the
# lock busy tries again for this long before it concludes that another writer holds it.
_GRACE_S = 0.5
_POLL_S = 0.02


class LockHolder(BaseModel):
    """Who holds a run directory's lock, as the holder wrote it."""

    pid: int | None = None
    """Process id of the holder (on `host`)."""
    host: str | None = None
    """Host name of the machine the holder runs on."""
    command: str | None = None
    """The holder's command line."""
    since: str | None = None
    """When it took the lock (ISO 8601, UTC)."""

    def describe(self) -> str:
        """``pid 4242 on gpu-3 since 2025-01-01T10:00:00+00:00 (agentkit search ...)``."""
        who = f"pid {self.pid}" if self.pid is not None else "an unknown process"
        text = f"{who} on {self.host or 'an unknown host'}"
        if self.since:
            text += f" since {self.since}"
        if self.command:
            text += f" ({self.command})"
        return text


def lock_path(run_dir: str | Path) -> Path:
    """Where a run directory's lock file is."""
    return Path(run_dir) / LOCK_NAME


def _command_line() -> str:
    argv = getattr(sys, "orig_argv", None) or sys.argv
    return shlex.join(str(a) for a in argv)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _busy(exc: OSError) -> bool:
    return exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        text = os.pread(fd, 64 * 1024, 0).decode("utf-8", errors="replace")
        data = json.loads(text)
        return LockHolder.model_validate(data) if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _wait_for_holder(fd: int) -> LockHolder | None:
    """The holder's details; a holder that has just taken the lock may still be writing them."""
    for _ in range(10):
        holder = _read_holder(fd)
        if holder is not None:
            return holder
        time.sleep(_POLL_S)
    return None


def lock_holder(run_dir: str | Path) -> LockHolder | None:
    """Who holds `run_dir` right now, or None when no process does. Never blocks and never writes, so
    read-only commands can call it while a search runs. A lock held by this very process counts too.
    When the holder's details cannot be read, a `LockHolder` with unknown fields is returned."""
    path = lock_path(run_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # no lock file: nobody ever locked this run
    try:
        holder: LockHolder | None = None
        for _ in range(10):
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as exc:
                if not _busy(exc):
                    return None
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None  # free
            holder = _read_holder(fd)
            if holder is not None:
                return holder
            time.sleep(_POLL_S)  # the holder is still writing its details
        return holder or LockHolder()
    finally:
        os.close(fd)


# Locks held by this process, so that a child made by a bare fork() (no exec) does not keep the run
# locked after this process dies: the child closes its copies of their descriptors.
_HELD: weakref.WeakSet[RunLock] = weakref.WeakSet()


def _drop_in_child() -> None:
    for lock in list(_HELD):
        lock._forget()


os.register_at_fork(after_in_child=_drop_in_child)


class RunLock:
    """The exclusive writer lock of one run directory. Take it with `RunLock.acquire(run_dir)` (also a
    context manager); `release()` gives it back, and so does the death of the process."""

    def __init__(self, run_dir: Path, fd: int, holder: LockHolder) -> None:
        """Use `RunLock.acquire` instead."""
        self.run_dir = run_dir
        self.holder = holder
        self._fd: int | None = fd
        self._mutex = threading.Lock()
        _HELD.add(self)

    @classmethod
    def acquire(cls, run_dir: str | Path, *, command: str | None = None, wait_s: float = _GRACE_S) -> RunLock:
        """Take the lock of `run_dir` (an existing directory) and record this process as its holder
        (`command` defaults to this process's command line). Raises `RunLocked` naming the holder when
        another process (or another `RunLock` of this one) holds it for longer than `wait_s` seconds,
        ArchiveError when the lock file cannot be made."""
        run_dir = Path(run_dir)
        path = lock_path(run_dir)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ArchiveError(f"cannot create the lock file {path}: {exc.strerror or exc}") from exc
        try:
            deadline = time.monotonic() + max(0.0, wait_s)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if not _busy(exc):
                        raise ArchiveError(f"cannot lock {path}: {exc.strerror or exc}") from exc
                    if time.monotonic() >= deadline:
                        raise _locked(run_dir, _wait_for_holder(fd)) from None
                    time.sleep(_POLL_S)
            holder = LockHolder(
                pid=os.getpid(), host=socket.gethostname(), command=command or _command_line(), since=_now()
            )
            data = json.dumps(holder.model_dump(), ensure_ascii=False).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except BaseException:
            os.close(fd)  # closing the descriptor releases the lock if it was taken
            raise
        return cls(run_dir, fd, holder)

    @property
    def held(self) -> bool:
        """True until `release()`."""
        return self._fd is not None

    def release(self) -> None:
        """Give the lock back (idempotent). The holder's details are cleared first."""
        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            _HELD.discard(self)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _forget(self) -> None:
        """In a forked child: close this copy of the descriptor without unlocking (which would unlock the
        parent's lock too); the lock stays the parent's."""
        fd, self._fd = self._fd, None
        self._mutex = threading.Lock()
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()

    def __repr__(self) -> str:
        state = "held" if self.held else "released"
        return f"RunLock({str(self.run_dir)!r}, {state})"


def _locked(run_dir: Path, holder: LockHolder | None) -> RunLocked:
    who = holder.describe() if holder is not None else "another process"
    return RunLocked(
        f"{run_dir} is in use: another process is writing to this run ({who}). One run has one writer: "
        "wait for it to finish or stop it (a stopped or killed process releases the run at once), "
        "then try again. Read-only commands (show, report, export, manual) work meanwhile.",
        run_dir=str(run_dir),
        holder=holder,
    )
