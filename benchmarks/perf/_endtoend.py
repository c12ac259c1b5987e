"""Scenario 10: what a user waits for, from process start to exit.

The workload of issue 13: a one-call chain-of-thought agent on the 250 MGSM questions (``../shared/data``),
48 at once, no cache, against an OpenAI-compatible server on loopback that answers in 100 ms (the fake
server in a process of its own, answering each question right in the format each framework asks for).
Every run is a fresh process, timed from its start to its exit, so imports, start-up and shut-down count:

- ``agentkit eval`` sandboxed (the default isolation) and with ``--isolation trusted``;
- DSPy's ``Evaluate`` over ``ChainOfThought`` and inspect_ai's ``eval`` (the ``bench`` extra), same
  server, questions and concurrency; a peer that is not installed or does not run is reported skipped,
  with the reason;
- the plainest in-process loop there is (threads and the openai SDK, no isolation), the floor;
- the time from the task loaded to agentkit's first example result, and from ``agentkit search``'s start
  to its first candidate proposed and scored.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.perf._results import Figure, not_measured, verdict
from benchmarks.perf._server import ServerProcess, repo_root
from benchmarks.perf._sizes import Sizes

TITLES = {
    "10a": "`agentkit eval` start to exit, sandboxed",
    "10b": "`agentkit eval --isolation trusted` start to exit",
    "10c": "DSPy `Evaluate` over `ChainOfThought`, start to exit",
    "10d": "inspect_ai `eval`, start to exit",
    "10e": "in-process thread loop (no sandbox), start to exit",
    "10f": "`eval`: time to first result (after the task is loaded)",
    "10g": "`search`: time to first candidate (from process start)",
}
EVAL_TARGET_S = 2.0
FIRST_RESULT_TARGET_S = 0.5
LOOP_RATIO_TARGET = 1.5
_TIMEOUT_S = 900


def data_dir() -> Path | None:
    """The folder with MGSM (``$AGENTKIT_DATA_DIR``, else ``../shared/data`` beside the repository)."""
    for candidate in (os.environ.get("AGENTKIT_DATA_DIR"), str(Path(repo_root()).parent / "shared" / "data")):
        if candidate and (Path(candidate) / "mgsm").is_dir():
            return Path(candidate)
    return None


def mgsm_responder(folder: str | None) -> Callable[[dict[str, Any]], Any]:
    """A model that knows every MGSM answer and gives it in the form the prompt asks for: DSPy's
    ``[[ ## field ## ]]`` sections, a JSON object with the requested keys (agentkit's agents, the loop),
    or reasoning then an ``ANSWER:`` line (inspect_ai's chain of thought)."""
    from agentkit.tasks import load_task
    from agentkit.testing import FakeReply, fake_field_value, requested_fields
    from agentkit.testing._replies import message_text

    answers = {e.input.strip()[:80]: e.target for e in load_task("mgsm", data_dir=folder).examples}

    def respond(body: dict[str, Any]) -> FakeReply:
        text = "\n".join(message_text(m) for m in body.get("messages") or [])
        answer = next((a for key, a in answers.items() if key in text), "0")
        if "[[ ## answer ## ]]" in text:
            reply = f"[[ ## reasoning ## ]]\nStep by step.\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"
        elif fields := requested_fields(body):
            reply = json.dumps({k: answer if "answer" in k.lower() else fake_field_value(k) for k in fields})
        else:
            reply = f"Working through it step by step gives {answer}.\n\nANSWER: {answer}"
        return FakeReply(content=reply)

    return respond


def _timed(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[float, Any]:
    """Run a process to its end: (seconds from start to exit, the completed process)."""
    began = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=_TIMEOUT_S, env=env, cwd=cwd or repo_root()
    )
    return time.perf_counter() - began, done


def _last_json(done: Any, what: str) -> dict[str, Any]:
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        raise RuntimeError(f"{what} exited with {done.returncode}: {' | '.join(tail)}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "AGENTKIT_CACHE_DIR": str(tmp / "cache"), "OPENAI_API_KEY": "x"}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        env.pop(name, None)
    return env


def _agentkit_eval(
    base_url: str, folder: Path, n: int, conc: int, isolation: str, tmp: Path
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "agentkit", "eval", "--agent", "cot", "--task", "mgsm"]
    argv += ["--data-dir", str(folder), "--limit", str(n), "--concurrency", str(conc), "--no-cache"]
    argv += ["--isolation", isolation, "--model", "openai/fake", "--api-base", base_url, "--json"]
    seconds, done = _timed(argv, env=_env(tmp), cwd=str(tmp))
    out = _last_json_block(done, f"agentkit eval --isolation {isolation}")
    errors = sum(1 for r in out.get("results", []) if r.get("error") is not None)
    return {
        "seconds": seconds,
        "own_wall_s": out["wall_s"],
        "n": out["n"],
        "accuracy": out["accuracy"],
        "errors": errors,
        "isolation": out["isolation"],
        "latency_p50_s": out["latency_p50_s"],
    }


def _last_json_block(done: Any, what: str) -> dict[str, Any]:
    """``--json`` prints one indented document."""
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        raise RuntimeError(f"{what} exited with {done.returncode}: {' | '.join(tail)}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _peer(kind: str, spec_file: Path, tmp: Path) -> dict[str, Any]:
    """One child of `benchmarks.perf._e2e_peers`: its process time and what it measured inside."""
    argv = [sys.executable, "-m", "benchmarks.perf._e2e_peers", kind, str(spec_file)]
    env = _env(tmp) | {"PYTHONPATH": repo_root()}
    seconds, done = _timed(argv, env=env, cwd=str(tmp))
    return {"seconds": seconds, **_last_json(done, kind)}


def _skip_reason(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (it is in the 'bench' extra: pip install -e '.[bench]')"
    return None


def _first_candidate(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    """``agentkit search`` (scripted meta model, 100 ms replies) in its own process: seconds from its
    start to its first candidate proposed and to its first candidate scored."""
    from agentkit.search._config_file import to_toml
    from benchmarks.perf._search import search_config

    workdir = tmp / "search"
    workdir.mkdir()
    with ServerProcess("search", latency_s=sizes.e2e_latency_s) as server:
        config = search_config(
            workdir,
            server.base_url,
            generations=1,
            search_size=sizes.search_size,
            screen_size=sizes.screen_size,
            test_size=sizes.test_size,
            cache=False,
        )
        (workdir / "search.toml").write_text(to_toml(config))
        argv = [sys.executable, "-m", "agentkit", "search", "--config", str(workdir / "search.toml")]
        argv += ["--out", str(workdir / "run")]
        started_at = time.time()
        seconds, done = _timed(argv, env=_env(tmp), cwd=str(tmp))
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"agentkit search exited with {done.returncode}: {' | '.join(tail)}")
    with sqlite3.connect(workdir / "run" / "archive.sqlite") as db:
        proposed = db.execute("SELECT MIN(created_at) FROM agents").fetchone()[0]
        scored = db.execute("SELECT MIN(recorded_at) FROM summaries").fetchone()[0]
    return {
        "proposed_s": datetime.fromisoformat(proposed).timestamp() - started_at,
        "scored_s": datetime.fromisoformat(scored).timestamp() - started_at,
        "search_s": seconds,
    }


def _ratio(ours: float, theirs: dict[str, Any] | str) -> str:
    return f"{ours / theirs['seconds']:.2f}" if isinstance(theirs, dict) else "skipped"


async def scenario_10(sizes: Sizes) -> list[Figure]:
    """Process start to exit of agentkit eval next to DSPy, inspect_ai and an in-process loop."""
    folder = data_dir()
    if folder is None:
        reason = "MGSM data not found (set AGENTKIT_DATA_DIR to a folder laid out like shared/data)"
        return [not_measured(i, TITLES[i], "-", reason) for i in TITLES]
    from agentkit.tasks import load_task

    n, conc, latency = sizes.e2e_examples, sizes.e2e_concurrency, sizes.e2e_latency_s
    pairs = [[e.input, e.target] for e in load_task("mgsm", data_dir=folder).examples[:n]]
    peers: dict[str, dict[str, Any] | str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="agentkit-bench-e2e-") as tmp_name,
        ServerProcess("mgsm", latency_s=latency, data_dir=str(folder)) as server,
    ):
        tmp = Path(tmp_name)
        spec_file = tmp / "spec.json"
        spec = {"base_url": server.base_url, "pairs": pairs, "concurrency": conc}
        spec_file.write_text(json.dumps(spec | {"data_dir": str(folder), "limit": n}))
        sandboxed = _agentkit_eval(server.base_url, folder, n, conc, "auto", tmp)
        trusted = _agentkit_eval(server.base_url, folder, n, conc, "trusted", tmp)
        for kind, module in (("dspy", "dspy"), ("inspect", "inspect_ai"), ("loop", "openai")):
            reason = _skip_reason(module)
            if reason is None:
                try:
                    peers[kind] = _peer(kind, spec_file, tmp)
                except Exception as exc:  # a peer that cannot run is reported, not fatal
                    reason = f"did not run against the loopback server: {str(exc)[:300]}"
            if reason is not None:
                peers[kind] = reason
        first = _peer("first", spec_file, tmp)
        trusted_file = tmp / "spec-trusted.json"
        trusted_file.write_text(json.dumps(json.loads(spec_file.read_text()) | {"isolation": "trusted"}))
        first["trusted"] = _peer("first", trusted_file, tmp)
        candidate = _first_candidate(sizes, tmp)
    return _figures(sizes, sandboxed, trusted, peers, first, candidate)


def _figures(
    sizes: Sizes,
    sandboxed: dict[str, Any],
    trusted: dict[str, Any],
    peers: dict[str, dict[str, Any] | str],
    first: dict[str, Any],
    candidate: dict[str, Any],
) -> list[Figure]:
    n, conc, latency = sizes.e2e_examples, sizes.e2e_concurrency, sizes.e2e_latency_s
    limit_s = n * latency / conc
    work = f"{n} MGSM questions, one-call CoT, concurrency {conc}, {latency * 1000:.0f} ms server, no cache"
    ours = sandboxed["seconds"]
    beaten = [p for p in ("dspy", "inspect") if isinstance(peers[p], dict)]
    ahead = all(ours < peers[p]["seconds"] for p in beaten)  # type: ignore[index]
    loop = peers["loop"]
    within = isinstance(loop, dict) and ours <= LOOP_RATIO_TARGET * loop["seconds"]
    ratios = ", ".join(f"/ {name} {_ratio(ours, peers[key])}" for key, name in _PEER_NAMES.items())
    figures = [
        Figure(
            scenario="10a",
            title=TITLES["10a"],
            value=round(ours, 3),
            shown=f"{ours:.2f} s ({ratios}; limit {limit_s:.2f} s)",
            target=f"<= {EVAL_TARGET_S:g} s, ahead of DSPy and inspect_ai, <= {LOOP_RATIO_TARGET:g}x the loop",
            status=verdict(ours <= EVAL_TARGET_S and ahead and within),
            notes=f"{work}; isolation {sandboxed['isolation']}; accuracy {sandboxed['accuracy']:.2f}, "
            f"{sandboxed['errors']} errors; its own wall_s {sandboxed['own_wall_s']:.2f} s",
            details=sandboxed | {"limit_s": limit_s},
        ),
        Figure(
            scenario="10b",
            title=TITLES["10b"],
            value=round(trusted["seconds"], 3),
            shown=f"{trusted['seconds']:.2f} s ("
            + ", ".join(
                f"/ {name} {_ratio(trusted['seconds'], peers[key])}" for key, name in _PEER_NAMES.items()
            )
            + ")",
            target="(reported)",
            status="info",
            notes=f"{work}; accuracy {trusted['accuracy']:.2f}, {trusted['errors']} errors",
            details=trusted,
        ),
    ]
    for sid, key in (("10c", "dspy"), ("10d", "inspect"), ("10e", "loop")):
        peer = peers[key]
        target = (
            f"agentkit sandboxed <= {LOOP_RATIO_TARGET:g}x" if key == "loop" else "agentkit sandboxed ahead"
        )
        if isinstance(peer, str):
            figures.append(not_measured(sid, TITLES[sid], target, f"skipped: {peer}"))
            continue
        ratio = ours / peer["seconds"]
        good = ratio <= LOOP_RATIO_TARGET if key == "loop" else ratio < 1.0
        figures.append(
            Figure(
                scenario=sid,
                title=TITLES[sid],
                value=round(peer["seconds"], 3),
                shown=f"{peer['seconds']:.2f} s (agentkit sandboxed / this = {ratio:.2f})",
                target=target,
                status=verdict(good),
                notes=f"{work}; {_PEER_NAMES[key]} {peer.get('version', '?')}, import {peer['import_s']:.2f} s, "
                f"evaluation {peer['evaluate_s']:.2f} s, accuracy {peer.get('accuracy')}",
                details=peer,
            )
        )
    figures.append(
        Figure(
            scenario="10f",
            title=TITLES["10f"],
            value=round(first["first_result_s"], 3),
            shown=f"{first['first_result_s']:.2f} s",
            target=f"< {FIRST_RESULT_TARGET_S:g} s",
            status=verdict(first["first_result_s"] < FIRST_RESULT_TARGET_S),
            notes=f"{work}; isolation {first['isolation']}; session open {first['session_s']:.2f} s, "
            f"all {n} done {first['all_s']:.2f} s after the task was loaded; with --isolation trusted the "
            f"first result came {first['trusted']['first_result_s']:.2f} s after it",
            details=first,
        )
    )
    figures.append(
        Figure(
            scenario="10g",
            title=TITLES["10g"],
            value=round(candidate["proposed_s"], 3),
            shown=f"{candidate['proposed_s']:.2f} s proposed, {candidate['scored_s']:.2f} s scored",
            target="(reported)",
            status="info",
            notes=f"scripted meta model, {latency * 1000:.0f} ms replies, no seeds, search split "
            f"{sizes.search_size} (screen {sizes.screen_size}); the whole one-generation search took "
            f"{candidate['search_s']:.2f} s",
            details=candidate,
        )
    )
    return figures


_PEER_NAMES = {"dspy": "DSPy", "inspect": "inspect_ai", "loop": "loop"}
