"""The fake OpenAI server in its own process, so it does not share a core or the GIL with the host.

A real model server runs elsewhere; running the fake one inside the measured process would charge its
request handling to agentkit. The child starts `FakeOpenAIServer` with the world named in its spec and
answers one-line commands on stdin ("stats", "reset") with one JSON line on stdout.

Run as ``python -m benchmarks.perf._server '<json spec>'`` (done by `ServerProcess`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from types import TracebackType
from typing import Any

WORLDS = ("simulated", "search", "dspy", "mgsm")


class ServerProcess:
    """A fake server child process. Use as a context manager; `base_url` is the client's api_base."""

    def __init__(
        self,
        world: str = "simulated",
        *,
        latency_s: float = 0.0,
        jitter_s: float = 0.0,
        data_dir: str | None = None,
    ) -> None:
        if world not in WORLDS:
            raise ValueError(f"unknown world {world!r}; known: {WORLDS}")
        self.spec = {"world": world, "latency_s": latency_s, "jitter_s": jitter_s, "data_dir": data_dir}
        self._proc: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> ServerProcess:
        """Start the child and wait until it listens."""
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.perf._server", json.dumps(self.spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=repo_root(),
        )
        self.port = int(self._read()["port"])
        return self

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake server process ended (exit code {self._proc.poll()})")
        return dict(json.loads(line))

    def _ask(self, command: str) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return self._read()

    def stats(self) -> dict[str, Any]:
        """Requests received (in total and per model), the most in flight at once, responder errors."""
        return self._ask("stats")

    def meta_prompts(self) -> list[list[dict[str, Any]]]:
        """The messages of every proposal request of the meta model (two messages), in arrival order."""
        return list(self._ask("meta_prompts")["prompts"])

    def reset(self) -> None:
        """Forget recorded requests and the in-flight maximum."""
        self._ask("reset")

    def stop(self) -> None:
        """End the child (closing its stdin makes it stop serving and exit)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _responder(world: str, data_dir: str | None = None) -> Any:
    from benchmarks.perf import _world

    if world == "mgsm":
        from benchmarks.perf._endtoend import mgsm_responder

        return mgsm_responder(data_dir)
    if world == "search":
        return _world.search_responder(_world.simulated_model(), _world.ScriptedMeta())
    if world == "dspy":
        return _world.dspy_aware(_world.simulated_model())
    return _world.simulated_model()


def main() -> None:
    """Child entry point."""
    from agentkit.testing import FakeOpenAIServer

    spec = json.loads(sys.argv[1])
    server = FakeOpenAIServer(
        _responder(spec["world"], spec.get("data_dir")),
        latency_s=spec["latency_s"],
        jitter_s=spec["jitter_s"],
    ).start()
    print(json.dumps({"port": server.port}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                requests = server.requests
                by_model = Counter(str(r.get("model", "")) for r in requests)
                reply: dict[str, Any] = {
                    "requests": len(requests),
                    "by_model": dict(by_model),
                    "max_in_flight": server.max_in_flight,
                    "responder_errors": server.responder_errors[:5],
                }
            elif command == "meta_prompts":
                reply = {
                    "prompts": [
                        r["messages"]
                        for r in server.requests
                        if str(r.get("model", "")).endswith("fake-meta") and len(r.get("messages") or []) == 2
                    ]
                }
            elif command == "reset":
                server.reset()
                reply = {}
            else:
                reply = {"error": f"unknown command {command!r}"}
            print(json.dumps(reply), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
