"""The embedded local model: llama.cpp's OpenAI-compatible server running SmolLM2 on a loopback port.

It exists so that everything runs end to end with no key and no network. The server is a child
process (``python -m llama_cpp.server`` behind a tiny bootstrap), reached over HTTP like any provider
(litellm ``openai/smollm2`` with an ``api_base`` and the dummy key ``"x"``).

The child must never outlive us. Four layers make sure of it: ``stop()`` / the context manager; an
``atexit`` hook; a SIGTERM/SIGHUP handler that chains to whatever handler was there before; and, for
the deaths no handler sees (``kill -9``, a crash), a watchdog thread inside the child that exits when
a pipe held by the parent reaches EOF or when the child is re-parented.

Nothing heavy is imported here: llama.cpp is only ever loaded in the child.

Finding the model file and the server packages is in `_local_install`; the child's bootstrap and the
process helpers are in `_local_proc`. Their public names are re-exported here.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from agentkit.errors import LocalModelUnavailable
from agentkit.llm._local_install import INSTALL_HINT, check_server_installed, find_model_file
from agentkit.llm._local_proc import (
    CHILD_BOOTSTRAP,
    default_threads,
    free_port,
    log_tail,
    signal_group,
    wait_for_exit,
)

MODEL_ALIAS = "smollm2"
"""The model name the server answers to (``/v1/models`` id and the ``model`` field of requests)."""

LITELLM_MODEL = f"openai/{MODEL_ALIAS}"
"""The litellm model string for the embedded server (with ``api_base`` and ``api_key="x"``)."""

API_KEY = "x"
"""The server does not check keys, but OpenAI clients insist on having one."""

CONTEXT_TOKENS = 8192
"""SmolLM2's trained context length; agent and meta prompts get long, and the KV cache for the
135M model at this length is under 200 MB."""


class LocalModelServer:
    """llama.cpp's OpenAI-compatible server for the embedded model, as a child process on loopback.

    Use as a context manager, or call `start` and `stop`. ``port=None`` picks a free port.
    ``threads=None`` picks a thread count suited to the machine (``AGENTKIT_LOCAL_THREADS`` overrides).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        model_file: Path | str | None = None,
        n_ctx: int = CONTEXT_TOKENS,
        threads: int | None = None,
    ) -> None:
        self._requested_port = port
        self._model_file = Path(model_file) if model_file is not None else None
        self._n_ctx = n_ctx
        self._threads = threads
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe_w: int | None = None
        self._log_path: Path | None = None
        self._lock = threading.Lock()

    # --- public state -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The loopback port the server listens on (only valid once started)."""
        if self._port is None:
            raise LocalModelUnavailable("the local model server has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """The OpenAI-style API base, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_name(self) -> str:
        """The model id the server answers to (``smollm2``); litellm calls it `LITELLM_MODEL`."""
        return MODEL_ALIAS

    @property
    def pid(self) -> int | None:
        """Process id of the server, or None when it is not running."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path | None:
        """Where the server writes its log (removed again by a clean `stop`)."""
        return self._log_path

    def is_running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout_s: float = 120.0) -> LocalModelServer:
        """Start the server and wait until ``GET /v1/models`` answers.

        Raises `LocalModelUnavailable` when the extra is missing, the process dies during start-up
        (the message carries the tail of its log) or it does not answer within ``timeout_s``.
        """
        model_file = self._model_file or find_model_file()
        check_server_installed()
        # Registered before spawning, so a signal during start-up also stops the child.
        _register(self)
        try:
            with self._lock:
                if self.is_running():
                    return self
                # A free port can be taken between our probe and the server's bind; retry on a new one.
                attempts = 1 if self._requested_port is not None else 3
                for attempt in range(attempts):
                    port = self._requested_port or free_port()
                    try:
                        self._spawn(model_file, port)
                        self._wait_ready(timeout_s)
                        return self
                    except LocalModelUnavailable as exc:
                        self._terminate(keep_log=True)
                        if attempt + 1 < attempts and "address already in use" in str(exc).lower():
                            continue
                        raise
                raise AssertionError("unreachable")
        except BaseException:
            _unregister(self)
            raise

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout_s``. Idempotent."""
        with self._lock:
            self._terminate(keep_log=False, timeout_s=timeout_s)
        _unregister(self)

    def wait(self, timeout_s: float | None = None) -> int | None:
        """Wait for the server process to end; its exit code, or None on timeout / not started."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running at {self.base_url}" if self.is_running() else "stopped"
        return f"LocalModelServer({state})"

    # --- internals ----------------------------------------------------------------------------

    def _spawn(self, model_file: Path, port: int) -> None:
        log_dir = Path(tempfile.gettempdir()) / "agentkit-local"
        log_dir.mkdir(parents=True, exist_ok=True)
        fd, log_name = tempfile.mkstemp(prefix=f"llama-server-{port}-", suffix=".log", dir=log_dir)
        self._log_path = Path(log_name)
        threads = self._threads or default_threads()
        cmd = [
            sys.executable,
            "-c",
            CHILD_BOOTSTRAP,
            "--model", str(model_file),
            "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(self._n_ctx),
            "--n_threads", str(threads),
            "--n_threads_batch", str(threads),
            # mlock of ~100 MB fails or warns under the usual container memlock limit; mmap is enough.
            "--use_mlock", "False",
            "--verbose", "False",
        ]  # fmt: skip
        pipe_r, pipe_w = os.pipe()
        env = dict(os.environ)
        env["AGENTKIT_PARENT_PIPE_FD"] = str(pipe_r)
        env["AGENTKIT_PARENT_PID"] = str(os.getpid())
        env["AGENTKIT_SERVER_LOG"] = str(self._log_path)
        # Idle OpenMP threads otherwise spin and steal the CPU from everything else on the machine.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            # A new session: Ctrl-C in the terminal reaches us, not the server; we stop it ourselves.
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                env=env,
                pass_fds=(pipe_r,),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            os.close(pipe_w)
            raise LocalModelUnavailable(f"could not start the local model server: {exc}") from exc
        finally:
            os.close(fd)
            os.close(pipe_r)
        self._pipe_w = pipe_w
        self._port = port

    def _wait_ready(self, timeout_s: float) -> None:
        # Local references: a signal handler may run _terminate() while we wait.
        process, port = self._process, self._port
        assert process is not None and port is not None
        url = f"http://127.0.0.1:{port}/v1/models"
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while True:
            code = process.poll()
            if code is not None:
                raise LocalModelUnavailable(
                    f"the local model server exited during start-up (exit code {code}); "
                    f"log {self._log_path}:\n{log_tail(self._log_path) if self._log_path else ''}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LocalModelUnavailable(
                    f"the local model server did not answer on port {port} within {timeout_s:.0f} s; "
                    f"log {self._log_path}:\n{log_tail(self._log_path) if self._log_path else ''}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def _terminate(self, *, keep_log: bool, timeout_s: float = 5.0, blocking: bool = True) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # The server leads its own process group (new session): signal the group, so anything
            # it spawned goes too.
            signal_group(process, signal.SIGTERM)
            if not wait_for_exit(process, timeout_s, blocking):
                signal_group(process, signal.SIGKILL)
                wait_for_exit(process, None if blocking else 2.0, blocking)
        pipe_w, self._pipe_w = self._pipe_w, None
        if pipe_w is not None:
            with contextlib.suppress(OSError):
                os.close(pipe_w)
        log_path = self._log_path
        if not keep_log and log_path is not None:
            self._log_path = None
            with contextlib.suppress(OSError):
                log_path.unlink()
        if process is not None:
            self._port = None if self._requested_port is None else self._requested_port


# --- process-wide bookkeeping: every live server is stopped at exit and on SIGTERM/SIGHUP --------

_live: set[LocalModelServer] = set()
_live_lock = threading.Lock()
_hooks_installed = False
_previous_handlers: dict[int, Any] = {}


def _register(server: LocalModelServer) -> None:
    global _hooks_installed
    with _live_lock:
        _live.add(server)
        if _hooks_installed:
            return
        _hooks_installed = True
    atexit.register(_stop_all)
    _install_signal_handlers()


def _unregister(server: LocalModelServer) -> None:
    with _live_lock:
        _live.discard(server)


def _stop_all() -> None:
    # Runs at exit and inside signal handlers: no locks here (the interrupted code, or a daemon
    # thread frozen at exit, may hold them); _terminate tolerates racing with a concurrent stop().
    for server in tuple(_live):  # tuple(set) copies under the GIL in one step
        with contextlib.suppress(Exception):
            server._terminate(keep_log=False, timeout_s=3.0, blocking=False)
        _live.discard(server)


def _install_signal_handlers() -> None:
    # signal.signal only works in the main thread; from elsewhere the child's watchdog still
    # guarantees the server ends with us.
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            _previous_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):
            _previous_handlers.pop(signum, None)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _stop_all()
    previous = _previous_handlers.get(signum)
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    # The default action: restore it and re-deliver, so the exit status still says "killed by signal".
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


# --- the process-wide singleton used by the LLM client -------------------------------------------

_singleton: LocalModelServer | None = None
_singleton_lock = threading.Lock()


def ensure_local_server(timeout_s: float = 120.0) -> str:
    """Return the api_base of the process-wide embedded server, starting it on first use.

    Thread-safe; a server that died is started again. Stopped at exit, on SIGTERM/SIGHUP, and by
    `stop_local_server`.
    """
    global _singleton
    with _singleton_lock:
        if _singleton is None or not _singleton.is_running():
            if _singleton is not None:
                _singleton.stop()
            server = LocalModelServer()
            server.start(timeout_s)
            _singleton = server
        return _singleton.base_url


def stop_local_server() -> None:
    """Stop the process-wide embedded server if it runs (the next `ensure_local_server` restarts it)."""
    global _singleton
    with _singleton_lock:
        server, _singleton = _singleton, None
    if server is not None:
        server.stop()


__all__ = [
    "API_KEY",
    "INSTALL_HINT",
    "LITELLM_MODEL",
    "MODEL_ALIAS",
    "LocalModelServer",
    "ensure_local_server",
    "find_model_file",
    "stop_local_server",
]
