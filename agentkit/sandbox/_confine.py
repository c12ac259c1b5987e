"""What confines every agent child (credentials, rlimits, Landlock, seccomp, a private temp directory),
applied by the child to itself; and the self-test by which a new worker proves the confinement holds.

STDLIB ONLY: shipped as source into the sandbox worker (see `_worker`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
from typing import Any

from ._child import (
    FS_READ,
    PR_GET_DUMPABLE,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    SeccompProgram,
    apply_landlock,
    landlock_abi,
    landlock_types,
    open_landlock_rules,
    prctl,
)


class Confinement:
    """The worker's settings for confining its children, read once from its config and made ready to
    apply, so that each forked child only makes the system calls."""

    def __init__(self, cfg: dict[str, Any], lib: Any) -> None:
        self.libc = lib
        self.drop_uid: int | None = cfg.get("drop_uid")
        self.drop_gid: int | None = cfg.get("drop_gid")
        self.nproc: int | None = cfg.get("nproc")
        self.own_group = bool(cfg.get("own_process_group"))
        bpf = cfg.get("bpf")
        self.bpf: bytes | None = base64.b64decode(bpf) if bpf else None
        self.seccomp = SeccompProgram(lib, self.bpf) if self.bpf is not None else None
        # {"read": [...], "write": [...]}: confine children with Landlock where the kernel has it
        rules = cfg.get("landlock")
        self.landlock: dict[str, list[str]] | None = rules if rules and landlock_abi(lib) > 0 else None
        # Children may run side by side in this worker only when nothing one does can reach another:
        # Landlock gives each its own domain (no reading another's temp directory or /proc entries, no
        # ptrace), seccomp stops signals, processes and shared memory, and pidfds let the worker kill
        # exactly the child it means. Otherwise it runs one child at a time, as a worker always did.
        self.shareable = (
            self.landlock is not None
            and self.bpf is not None
            and hasattr(os, "pidfd_open")
            and hasattr(signal, "pidfd_send_signal")
        )
        # The process every agent child must be a direct child of: this worker, until the spawner runs.
        self.parent_pid = os.getpid()
        # Children run as another uid (or under no_new_privs); being non-dumpable keeps them out of
        # /proc/<worker>/fd, where the pipes to the host are.
        with contextlib.suppress(OSError):
            prctl(lib, PR_SET_DUMPABLE, 0)
        # warm what every child uses (ctypes' first call, the Landlock structures), so they fork warm
        lib.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        if self.landlock is not None:
            landlock_types()
        tmp = cfg.get("tmp_dir")
        self.private_tmp = tmp is None
        if tmp is None:
            tmp = tempfile.mkdtemp(prefix="agentkit-sandbox-")
            if self.drop_uid is not None:
                os.chown(tmp, self.drop_uid, self.drop_gid if self.drop_gid is not None else -1)
        self.tmp: str = tmp
        # The temp directory of the child this process is (set in the child, by `enter_tmp`).
        self.child_tmp: str | None = None
        # The read rules, opened once by the spawner (`open_rules`) for all its children.
        self.opened_rules: list[tuple[int, int]] = []

    def open_rules(self) -> None:
        """In the spawner: open the Landlock read rules once, for every child to inherit."""
        if self.landlock is not None:
            self.opened_rules = open_landlock_rules(self.libc, list(self.landlock.get("read", ())), FS_READ)

    @property
    def inherited_fds(self) -> list[int]:
        """The spawner's fds a child keeps until it has confined itself."""
        return [fd for fd, _ in self.opened_rules]

    def enter_tmp(self, path: str) -> None:
        """In the child: make its own temp directory (as its own user), and make it its cwd, TMPDIR and
        HOME; Landlock then lets it write there and nowhere else in the worker's temp directory."""
        os.mkdir(path, 0o700)
        os.chdir(path)
        os.environ["TMPDIR"] = path
        os.environ["HOME"] = path
        tempfile.tempdir = path
        self.child_tmp = path

    def remove_child_tmp(self, path: str, *, wait: bool = True) -> int | None:
        """After a child has ended: remove its temp directory (a helper with the child's credentials
        empties it first when the child left anything there). With `wait` False the helper's pid is
        returned at once, for the caller to reap: emptying what an agent left (a million files, say)
        must not hold up the examples running beside it."""
        try:
            os.rmdir(path)
            return None
        except FileNotFoundError:
            return None
        except OSError:
            pass

        def remove() -> None:
            _remove_children(path)
            os.rmdir(path)

        return self._as_child(remove, wait=wait)

    def _as_child(self, work: Any, *, wait: bool = True) -> int | None:
        """Run `work` in a forked helper with the children's credentials; wait for it, or return its pid."""
        pid = os.fork()
        if pid == 0:
            try:
                if self.drop_uid is not None:
                    os.setgroups([])
                    os.setresgid(self.drop_gid or self.drop_uid, self.drop_gid or self.drop_uid, -1)
                    os.setresuid(self.drop_uid, self.drop_uid, self.drop_uid)
                work()
            finally:
                os._exit(0)
        if not wait:
            return pid
        os.waitpid(pid, 0)
        return None

    def drop_privileges(self) -> None:
        if self.drop_uid is not None:
            gid = self.drop_gid if self.drop_gid is not None else self.drop_uid
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(self.drop_uid, self.drop_uid, self.drop_uid)
        # After the credential change, which clears it: die with the spawner (which dies with the worker).
        prctl(self.libc, PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.parent_pid:
            os._exit(1)

    def confine(self, limits: dict[str, Any]) -> None:
        def cap(which: int, soft: int, hard: int | None = None) -> None:
            _, old_hard = resource.getrlimit(which)
            hard = soft if hard is None else hard
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(which, (soft, hard))

        cpu = max(1, int(limits["cpu"] + 0.999))
        # SIGXCPU at the soft limit becomes an AgentTimeout with a traceback; SIGKILL at the hard one.
        cap(resource.RLIMIT_CPU, cpu, cpu + 1)
        cap(resource.RLIMIT_AS, int(limits["mem"]))
        cap(resource.RLIMIT_FSIZE, int(limits["file"]))
        cap(resource.RLIMIT_CORE, 0)
        cap(resource.RLIMIT_NOFILE, 256)
        if self.nproc is not None:
            cap(resource.RLIMIT_NPROC, self.nproc)
        if self.own_group:
            # Without seccomp a child can fork; its own group lets the worker kill them all.
            os.setpgid(0, 0)
        if self.landlock is not None:
            # the runtime is already loaded: reading the Python install and writing its temp dir is enough
            opened, self.opened_rules = self.opened_rules, []
            read = ["/proc/self"] if opened else [*self.landlock.get("read", ()), "/proc/self"]
            own = self.child_tmp or self.tmp
            apply_landlock(self.libc, read, [own, *self.landlock.get("write", ())], opened)
        if self.seccomp is not None:
            self.seccomp.load()
        else:
            prctl(self.libc, PR_SET_NO_NEW_PRIVS, 1)

    def wipe_tmp(self) -> None:
        """Remove what the last child left in its temp directory, with the child's own credentials."""
        try:
            if not os.listdir(self.tmp):
                return
        except OSError:
            return
        self._as_child(lambda: _remove_children(self.tmp))

    def remove_tmp(self) -> None:
        """Remove the temp directory when this worker made it (not one the host gave it)."""
        if self.private_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def self_test_child(self) -> None:
        """Runs in a forked child: apply the confinement and check it holds. Exit status 0 = good."""
        import socket  # before dropping privileges: the new uid may not read the stdlib

        problems = []
        try:
            self.drop_privileges()
            self.confine({"cpu": 5, "mem": 1 << 30, "file": 1 << 20})
        except BaseException as exc:
            problems.append(f"setup: {exc!r}")
        if self.bpf is not None and not problems:
            try:
                socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
                problems.append("socket() was allowed")
            except PermissionError:
                pass
            try:
                child = os.fork()
                if child == 0:
                    os._exit(0)
                problems.append("fork() was allowed")
            except PermissionError:
                pass
        if self.landlock is not None and not problems:
            try:
                os.listdir("/")
                problems.append("Landlock did not hide /")
            except PermissionError:
                pass
        if not problems:
            box: list[int] = []
            thread = threading.Thread(target=lambda: box.append(1))
            thread.start()
            thread.join()
            if box != [1]:
                problems.append("threads do not run")
        if self.drop_uid is not None and os.getuid() != self.drop_uid:
            problems.append(f"running as uid {os.getuid()}")
        if problems:
            with contextlib.suppress(OSError):
                os.write(2, ("self-test: " + "; ".join(problems) + "\n").encode())
        os._exit(1 if problems else 0)

    def self_test(self) -> dict[str, Any]:
        """Fork a child that confines itself and checks the result: {"self_test": {"ok", "detail"}}."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(w, 2)
            self.self_test_child()
        os.close(w)
        chunks = []
        while chunk := os.read(r, 4096):
            chunks.append(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        detail = b"".join(chunks).decode("utf-8", "replace").strip() or f"status {status}"
        if ok:
            # the worker must be able to kill a child that runs as another uid
            pid = os.fork()
            if pid == 0:
                with contextlib.suppress(BaseException):
                    self.drop_privileges()
                    time.sleep(2)
                os._exit(0)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as exc:
                ok, detail = False, f"the worker cannot kill its children: {exc}"
            os.waitpid(pid, 0)  # unkillable, it still exits after its short sleep
        return {"self_test": {"ok": ok, "detail": "" if ok else detail}}


def _remove_children(path: str) -> None:
    def retry_writable(func: Any, target: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            func(target)

    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            with contextlib.suppress(OSError):
                os.chmod(full, 0o700)
            shutil.rmtree(full, onerror=retry_writable)
        else:
            with contextlib.suppress(OSError):
                os.unlink(full)
