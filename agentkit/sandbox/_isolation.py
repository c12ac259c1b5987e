"""How a worker process is confined: the interpreter it runs, the bwrap command line, the seccomp
filter, and what each isolation level does and does not protect against."""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Literal

IsolationLevel = Literal["bwrap+seccomp", "bwrap", "process+seccomp", "process"]

NOBODY = 65534
# Backstop only: seccomp already refuses fork/clone. Threads count against it too, so leave room.
NPROC_LIMIT = 1024

LEVEL_NOTES: dict[str, str] = {
    "bwrap+seccomp": (
        "agent code runs in a bubblewrap sandbox (no network, no capabilities, uid 65534, read-only view of "
        "the Python runtime only, private /tmp) under rlimits and seccomp (no sockets, processes, exec or "
        "ptrace). Not covered: kernel exploits, and CPU/memory contention with the host within the limits."
    ),
    "bwrap": (
        "agent code runs in a bubblewrap sandbox (no network, no capabilities, uid 65534, read-only view of "
        "the Python runtime only, private /tmp) under rlimits, but WITHOUT seccomp (pyseccomp/libseccomp "
        "missing): it can start processes inside the sandbox (bounded by RLIMIT_NPROC and the time limits)."
    ),
    "process+seccomp": (
        "agent code runs in a separate process with a scrubbed environment, rlimits and seccomp (no sockets, "
        "processes, exec or ptrace), as uid 65534 when agentkit runs as root. NOT protected: it can READ any "
        "file that user can read (the project, the data, world-readable homes), see other processes' command "
        "lines and write to world-writable places. Install bubblewrap for filesystem isolation."
    ),
    "process": (
        "agent code runs in a separate process with a scrubbed environment and rlimits only. NOT protected: "
        "file access, network access and starting processes. Install bubblewrap and pyseccomp."
    ),
}

# Process levels where the kernel has Landlock: the filesystem view is close to bwrap's.
LANDLOCK_NOTES: dict[str, str] = {
    "process+seccomp": (
        "agent code runs in a separate process with a scrubbed environment, rlimits, seccomp (no sockets, "
        "processes, exec or ptrace) and Landlock: it reads only the Python runtime, writes only its private "
        "temp directory and cannot inspect or signal processes outside (the project, the data, the cache and "
        "other processes' environments stay out of reach). Not covered: kernel exploits; it shares the host's "
        "network namespace, where seccomp refuses sockets."
    ),
    "process": (
        "agent code runs in a separate process with a scrubbed environment, rlimits and Landlock (reads only "
        "the Python runtime, writes only its private temp directory, cannot inspect processes outside), but "
        "WITHOUT seccomp: it can start processes and open network connections. Install pyseccomp."
    ),
}
OWN_USER_NOTE = (
    " agentkit is not running as root, so agent code runs as YOUR user: it can read your files and the "
    "environment of your other processes (/proc/PID/environ), API keys included."
)


def level_notes(level: str, *, landlock: bool) -> str:
    """What an isolation level does and does not protect against, given whether Landlock is in force."""
    if landlock and level in LANDLOCK_NOTES:
        return LANDLOCK_NOTES[level]
    if level.startswith("process") and os.geteuid() != 0:
        return LEVEL_NOTES[level] + OWN_USER_NOTE
    return LEVEL_NOTES[level]


_BLOCKED_SYSCALLS = (
    "socket",
    "socketpair",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "acct",
    # signals to other processes: without bwrap, the children of all workers share uid 65534
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "swapon",
    "swapoff",
    "reboot",
    # memory that RLIMIT_AS does not count (memfd pages, System V / POSIX shared memory and queues);
    # the IPC objects would also outlive the example and carry data to the next one
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    "msgget",
    "msgsnd",
    "msgrcv",
    "semget",
    "semop",
    "semtimedop",
    "mq_open",
    # same-uid calls on other processes: the children of all workers share uid 65534 without bwrap
    "ioprio_set",
    "migrate_pages",
    "move_pages",
)
# Calls refused only when they aim at another process (argument `arg` is a pid other than 0 = self):
# lowering a sibling's rlimits or priority needs only the same uid.
_SELF_ONLY_SYSCALLS = (
    ("prlimit64", 0),
    ("sched_setaffinity", 0),
    ("sched_setscheduler", 0),
    ("sched_setparam", 0),
    ("sched_setattr", 0),
)
# fcntl commands that direct SIGIO (or any signal chosen with F_SETSIG) at another process: the kernel
# sends it on I/O with only a same-uid check, which would let agent code kill a sibling example.
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
CLONE_THREAD = 0x00010000


@functools.cache
def seccomp_filter() -> bytes | None:
    """The seccomp filter for agent children as raw BPF, or None where libseccomp is unavailable.

    Built here (libseccomp via pyseccomp) and loaded in the child with prctl, so the sandbox needs no
    libseccomp of its own. Everything is allowed except process creation (threads stay allowed),
    sockets, exec, ptrace, sending signals (directly or as SIGIO), acting on other processes, memory
    outside RLIMIT_AS (memfd, shared memory) and namespace/kernel-admin calls, which fail with EPERM.
    """
    try:
        import pyseccomp as sc
    except (ImportError, OSError, AttributeError):
        return None
    try:
        filt = sc.SyscallFilter(sc.ALLOW)
        filt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)  # e.g. 32-bit syscalls via int 0x80
        eperm = sc.ERRNO(errno.EPERM)
        for name in _BLOCKED_SYSCALLS:
            with contextlib.suppress(OSError):  # not a syscall on this architecture
                filt.add_rule(eperm, name)
        for name, arg in _SELF_ONLY_SYSCALLS:
            with contextlib.suppress(OSError):
                filt.add_rule(eperm, name, sc.Arg(arg, sc.NE, 0))
        for cmd in (F_SETOWN, F_SETSIG, F_SETOWN_EX):
            filt.add_rule(eperm, "fcntl", sc.Arg(1, sc.EQ, cmd))
        # setpriority(which, who, prio): only PRIO_PROCESS (0) of itself (who 0)
        filt.add_rule(eperm, "setpriority", sc.Arg(0, sc.NE, 0))
        filt.add_rule(eperm, "setpriority", sc.Arg(1, sc.NE, 0))
        # clone without CLONE_THREAD makes a process; with it, a thread (ThreadPoolExecutor needs those).
        filt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        # clone3 hides its flags in memory seccomp cannot read; ENOSYS makes glibc fall back to clone.
        filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        with tempfile.TemporaryFile() as fh:
            filt.export_bpf(fh)
            fh.seek(0)
            data = fh.read()
    except (OSError, RuntimeError, ValueError):
        return None
    return data if data and len(data) % 8 == 0 else None


def base_interpreter() -> tuple[str, list[str]]:
    """The base (non-venv) Python executable and the directories it needs, outside /usr."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    if not exe or not os.path.exists(exe):
        exe = sys.executable
    dirs: list[str] = []
    for path in (sys.base_prefix, sys.base_exec_prefix, os.path.dirname(os.path.realpath(exe))):
        for candidate in (path, os.path.realpath(path)):
            if candidate and not _covered(candidate, ["/usr", *dirs]):
                dirs.append(candidate)
    # keep only the outermost of nested directories
    dirs = [d for d in dirs if not _covered(d, [o for o in dirs if o != d])]
    return exe, dirs


def _covered(path: str, roots: list[str]) -> bool:
    path = path.rstrip("/") or "/"
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


@functools.cache
def bwrap_features() -> frozenset[str]:
    """The long options this bwrap understands (older releases lack --size, --perms, --disable-userns)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    words = (out.stdout + out.stderr).split()
    return frozenset(w for w in words if w.startswith("--"))


WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    # glibc makes a 64 MB arena per thread; under RLIMIT_AS that would eat the budget of threaded agents.
    "MALLOC_ARENA_MAX": "2",
}


@dataclass
class WorkerSpec:
    """Everything needed to start one worker at a given isolation level."""

    level: IsolationLevel
    argv: list[str]
    env: dict[str, str]
    worker_cfg: dict[str, Any] = field(default_factory=dict)
    """Settings for the worker itself (uid to drop to, seccomp filter, temp dir)."""


def landlock_rules(dirs: list[str]) -> dict[str, list[str]]:
    """What a bwrap sandbox shows, as Landlock rules for each agent child (applied where the kernel has
    Landlock): read the Python runtime, write only /dev/null (and, added by the child, its own temp
    directory). Inside bwrap they also keep children of one worker apart from each other."""
    read = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", *dirs, "/etc/localtime"]
    read += ["/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
    return {"read": read, "write": ["/dev/null"]}


def python_argv(exe: str, boot: str) -> list[str]:
    # -S: no site (no venv, no .pth files), -I: ignore env vars and the user site, -B: write no .pyc
    return [exe, "-S", "-I", "-B", "-c", boot]


def bwrap_spec(boot: str, *, tmp_bytes: int, seccomp: bool) -> WorkerSpec:
    """A worker inside bubblewrap.

    As root, bwrap makes no user namespace: the worker keeps only CAP_SETUID/CAP_SETGID to switch each
    child to the real host uid 65534 (so RLIMIT_NPROC binds and nothing maps to host root). As another
    user, bwrap makes an unprivileged user namespace in which everything runs as uid 65534. (CAP_KILL lets
    the root worker kill its uid 65534 children; it only sees the processes of its own pid namespace.)
    """
    exe_bwrap = shutil.which("bwrap") or "bwrap"
    features = bwrap_features()
    exe, dirs = base_interpreter()
    as_root = os.geteuid() == 0
    argv = [exe_bwrap]
    if as_root:
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        argv += [
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_KILL",
        ]
    else:
        argv += ["--unshare-all", "--unshare-user"]
        if "--disable-userns" in features:
            argv += ["--disable-userns"]
        argv += ["--cap-drop", "ALL", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    argv += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in WORKER_ENV.items():
        argv += ["--setenv", key, value]
    if "--hostname" in features:
        argv += ["--hostname", "sandbox"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    argv += ["--ro-bind-try", "/etc/localtime", "/etc/localtime"]
    made: set[str] = set()
    for d in dirs:
        # bwrap creates missing parents itself, as root with mode 0700 where --perms is missing;
        # make them traversable for the uid 65534 child.
        parts = d.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent in made or _covered(parent, ["/usr"]):
                continue
            made.add(parent)
            argv += (["--perms", "0755"] if "--perms" in features else []) + ["--dir", parent]
        argv += ["--ro-bind", d, d]
    if "--perms" in features:
        argv += ["--perms", "1777"]
    if "--size" in features:
        argv += ["--size", str(tmp_bytes)]
    argv += ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp", "--"]
    argv += python_argv(exe, boot)
    cfg: dict[str, Any] = {"tmp_dir": "/tmp", "nproc": NPROC_LIMIT, "landlock": landlock_rules(dirs)}
    if as_root:
        cfg.update(drop_uid=NOBODY, drop_gid=NOBODY)
    bpf = seccomp_filter() if seccomp else None
    if bpf is not None:
        cfg["bpf"] = base64.b64encode(bpf).decode("ascii")
    else:
        cfg["own_process_group"] = True
    return WorkerSpec(
        level="bwrap+seccomp" if bpf is not None else "bwrap", argv=argv, env=dict(WORKER_ENV), worker_cfg=cfg
    )


def process_spec(boot: str, *, seccomp: bool) -> WorkerSpec:
    """A worker as a plain child process of the host (no bwrap)."""
    exe, dirs = base_interpreter()
    cfg: dict[str, Any] = {"tmp_dir": None, "landlock": landlock_rules(dirs)}
    if os.geteuid() == 0:
        cfg.update(drop_uid=NOBODY, drop_gid=NOBODY, nproc=NPROC_LIMIT)
    bpf = seccomp_filter() if seccomp else None
    if bpf is not None:
        cfg["bpf"] = base64.b64encode(bpf).decode("ascii")
    else:
        cfg["own_process_group"] = True
    level: IsolationLevel = "process+seccomp" if bpf is not None else "process"
    return WorkerSpec(level=level, argv=python_argv(exe, boot), env=dict(WORKER_ENV), worker_cfg=cfg)


def bwrap_available() -> bool:
    """True when a bwrap binary is on PATH (whether it works is found out by starting a worker)."""
    return shutil.which("bwrap") is not None
