"""The embedded server's child process: the bootstrap it runs, and the small system helpers used to
start, signal and wait for it (a free port, a thread count, its log's tail, its process group)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

# Runs in the child, before llama_cpp.server's own __main__. Kept as source text (not an agentkit
# import) so the child does not depend on how agentkit is installed.
#  - use_extra_bufts=False: llama.cpp's "extra buffer types" route matmuls to the AMX kernels on CPUs
#    that advertise AMX; in VMs that advertise it without enabling tile state (Firecracker here) the
#    first `ldtilecfg` faults and the server segfaults on its first request. This model's Q4_1
#    weights gain nothing from the other extra buffer (repacking), so turning them off costs nothing.
#  - the watchdog: exit (removing our log) when the parent's pipe closes (parent died, however) or
#    we are re-parented.
CHILD_BOOTSTRAP = """\
import os, runpy, select, threading

def _orphaned(log):
    # Nobody is left to clean up after us: remove our log, then go.
    try:
        os.unlink(log)
    except OSError:
        pass
    os._exit(0)

def _watch(fd, ppid, log):
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if (ready and not os.read(fd, 64)) or os.getppid() != ppid:
            _orphaned(log)

_fd = int(os.environ.pop("AGENTKIT_PARENT_PIPE_FD", "-1"))
_ppid = int(os.environ.pop("AGENTKIT_PARENT_PID", "0"))
_log = os.environ.pop("AGENTKIT_SERVER_LOG", "")
if _ppid and os.getppid() != _ppid:
    _orphaned(_log)
if _fd >= 0:
    threading.Thread(target=_watch, args=(_fd, _ppid, _log), daemon=True, name="parent-watchdog").start()

import llama_cpp.llama_cpp as _lc
_default_params = _lc.llama_model_default_params
def _model_params():
    params = _default_params()
    params.use_extra_bufts = False
    return params
_lc.llama_model_default_params = _model_params

runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_threads() -> int:
    # Measured on 2 busy cores: 1 thread generated ~45 tokens/s, 2 threads 1-20 tokens/s (OpenMP
    # threads stall each other when the sandbox workers compete for the same cores). A 135M model is
    # bound by memory latency, not arithmetic, so half the cores is plenty on bigger machines.
    env = os.environ.get("AGENTKIT_LOCAL_THREADS")
    if env:
        return max(1, int(env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cores // 2))


def log_tail(path: Path, max_bytes: int = 4000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            return fh.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def wait_for_exit(process: subprocess.Popen[bytes], timeout_s: float | None, blocking: bool) -> bool:
    """True once the process has ended. ``blocking=False`` only polls: signal handlers may run inside
    a ``Popen.wait`` of the interrupted code, which holds the lock a nested blocking wait needs."""
    if blocking:
        try:
            process.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + (timeout_s if timeout_s is not None else 5.0)
    while process.poll() is None and not _exited(process.pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _exited(pid: int) -> bool:
    # poll() answers None while another frame holds Popen's wait lock; /proc shows a zombie
    # (exited, not yet reaped) without reaping it behind Popen's back.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] in (["Z"], ["X"])
