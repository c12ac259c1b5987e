"""Sandbox throughput and CPU per example, with a model that answers at once or after a fixed delay.

Run as ``python -m benchmarks.sandbox_throughput [--examples N] [--concurrency C] [--latency S]``. It
prints one JSON object: the isolation level, the worker processes the sandbox started, time to the
first result, the wall time of the batch, examples per second, and CPU seconds, page faults and
system calls per example of the whole process tree (host, workers, children), measured by `perf stat`
as the difference between a run of N examples and one of a few (so the workers' start-up is not
counted as per-example cost). Under load the CPU time varies by 15% or more; the counts do not.

It is a separate module from `benchmarks.perf` on purpose: it needs no fake server (the model handler
answers in the host), so it measures the sandbox alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ONE_CALL_AGENT = """
def forward(self, taskInfo):
    agent = LLMAgentBase(["thinking", "answer"], "CoT Agent")
    thinking, answer = agent([taskInfo], "Think step by step, then answer.")
    return answer.content
"""


async def _batch(
    n: int, concurrency: int, latency_s: float, isolation: str, workers: int | None, code: str
) -> dict[str, Any]:
    from agentkit.sandbox import Sandbox, SandboxConfig

    async def llm(request: dict[str, Any]) -> dict[str, Any]:
        if latency_s:
            await asyncio.sleep(latency_s)
        fields = request.get("fields") or ["answer"]
        values = {f: ("42" if "answer" in f else f"some {f}") for f in fields}
        return {"fields": values, "raw": str(values), "parse_error": None}

    settings: dict[str, Any] = {"isolation": isolation}
    if workers is not None:
        settings["workers"] = workers
    config = SandboxConfig(**settings)
    gate = asyncio.Semaphore(concurrency)
    first: list[float] = []
    started = time.perf_counter()

    async def one(i: int) -> bool:
        async with gate:
            run = await sandbox.run(code, f"q{i}", answer_format="", llm=llm)
        if not first:
            first.append(time.perf_counter() - started)
        return run.error is None

    async with Sandbox(config) as sandbox:
        up = time.perf_counter() - started
        ok = await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - started
        level = sandbox.isolation_level
        peak = len(sandbox.worker_pids)
    return {
        "level": level,
        "workers": peak,
        "first_worker_s": round(up, 3),
        "first_result_s": round(first[0], 3) if first else None,
        "wall_s": round(wall, 3),
        "ok": sum(ok),
    }


def _measured(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """One batch of `n` examples in a fresh process, under `perf stat` (CPU of the whole process tree,
    bubblewrap's namespaces included, which getrusage does not see) when perf is installed."""
    inner = [sys.executable, "-m", "benchmarks.sandbox_throughput", "--inner", str(n)]
    inner += ["--concurrency", str(args.concurrency), "--latency", str(args.latency)]
    inner += ["--isolation", args.isolation] + (["--agent", args.agent] if args.agent else [])
    inner += [] + (["--workers", str(args.workers)] if args.workers else [])
    perf = shutil.which("perf")
    # CPU time varies with the machine's load; page faults and system calls do not
    events = "task-clock,page-faults,raw_syscalls:sys_enter"
    argv = [perf, "stat", "-x,", "-e", events, "--", *inner] if perf else inner
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=os.getcwd())
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    for line in done.stderr.splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0].replace(".", "").isdigit():
            name = {"task-clock": "cpu_s", "page-faults": "faults", "raw_syscalls:sys_enter": "syscalls"}
            if parts[2] in name:
                result[name[parts[2]]] = float(parts[0]) / (1000 if parts[2] == "task-clock" else 1)
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure a small and a large batch in fresh processes; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--latency", type=float, default=0.0, help="model delay in seconds")
    parser.add_argument("--isolation", default="auto")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--agent", default=None, help="a file of agent code (default: a one-call agent)")
    parser.add_argument("--inner", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner is not None:
        code = Path(args.agent).read_text(encoding="utf-8") if args.agent else ONE_CALL_AGENT
        result = asyncio.run(
            _batch(args.inner, args.concurrency, args.latency, args.isolation, args.workers, code)
        )
        print(json.dumps(result))
        return 0
    # The small batch starts as many workers as the big one: the difference is the examples' own cost.
    small = _measured(args, args.concurrency)
    big = _measured(args, args.concurrency + args.examples)
    out = {
        **{k: v for k, v in big.items() if k != "cpu_s"},
        "examples": args.examples,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "examples_per_s": round(big["ok"] / big["wall_s"], 1),
    }
    if "cpu_s" in big and "cpu_s" in small:
        out["cpu_ms_per_example"] = round(1000 * (big["cpu_s"] - small["cpu_s"]) / args.examples, 2)
    for key in ("faults", "syscalls"):
        if key in big and key in small:
            out[f"{key}_per_example"] = round((big[key] - small[key]) / args.examples, 1)
    print(json.dumps(out))
    return 0 if big["ok"] == args.concurrency + args.examples else 1


if __name__ == "__main__":
    raise SystemExit(main())
