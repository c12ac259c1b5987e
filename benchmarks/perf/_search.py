"""Scenarios 4, 5 and 7: what a scripted Meta Agent Search costs, how big its meta prompt gets, and the
host's memory with a 200-agent archive.

The meta model is `benchmarks.perf._world.ScriptedMeta` (twenty designs in a fixed order) and the agent
model is the simulated model, both behind the fake server process. Self-review and debug rounds are
off, so both searches of scenario 4 see the same proposals in the same order.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.perf import _world
from benchmarks.perf._results import Figure, verdict
from benchmarks.perf._server import ServerProcess, repo_root
from benchmarks.perf._sizes import Sizes

CALL_SAVING_TARGET = 0.40
PROMPT_TOKEN_TARGET = 8000
RSS_TARGET_MB = 500.0
PROMPT_POINTS = (10, 50, 200)


def search_config(
    workdir: Path,
    base_url: str,
    *,
    generations: int,
    search_size: int,
    screen_size: int,
    test_size: int,
    cache: bool,
    parallel: int = 1,
) -> Any:
    """The SearchConfig of a scripted search over the simulated world."""
    from agentkit.search import SandboxSettings, SearchConfig

    task_name = _world.write_jsonl_task(workdir / "task.jsonl", search_size + test_size)
    return SearchConfig(
        task=task_name,
        model="openai/fake-agent",
        meta_model="openai/fake-meta",
        api_base=base_url,
        generations=generations,
        parallel=parallel,
        search_size=search_size,
        test_size=test_size,
        screen_size=screen_size,
        self_review=0,
        debug_attempts=0,
        # The scripted meta agent writes code; ensembles would add calls this scenario does not measure.
        proposals="code",
        ensembles=False,
        seeds=[],
        sandbox=SandboxSettings(isolation="auto", workers=8, wall_time_s=60.0),
        concurrency=8,
        top_k=3,
        cache=cache,
        cache_dir=str(workdir / "cache"),
        model_timeout_s=60.0,
        progress=False,
        task_options={"scorer": "numeric", "answer_format": _world.ANSWER_FORMAT},
    )


async def run_scripted_search(
    sizes: Sizes,
    *,
    cascade: bool,
    parallel: int = 1,
    generations: int | None = None,
    search_size: int | None = None,
    screen_size: int | None = None,
    keep_meta_prompts: bool = False,
) -> dict[str, Any]:
    """Run one scripted search against a fresh server; its outcome, agent calls and timing."""
    from agentkit.search import run_search

    with (
        tempfile.TemporaryDirectory(prefix="agentkit-bench-") as tmp,
        ServerProcess("search", latency_s=0.01) as server,
    ):
        workdir = Path(tmp)
        config = search_config(
            workdir,
            server.base_url,
            generations=generations or sizes.search_generations,
            search_size=search_size or sizes.search_size,
            screen_size=(screen_size or sizes.screen_size) if cascade else 0,
            test_size=sizes.test_size,
            cache=cascade,
            parallel=parallel,
        )
        started = time.perf_counter()
        outcome = await run_search(config, workdir / "run")
        seconds = time.perf_counter() - started
        stats = server.stats()
        prompts = _meta_prompts(workdir / "run")
        made = _calls_made(workdir / "run")
        meta_messages = server.meta_prompts() if keep_meta_prompts else []
    return {
        "status": outcome.status,
        "selected": outcome.selected.name if outcome.selected else None,
        "agents": outcome.agents,
        "by_status": outcome.agents_by_status,
        "agent_calls": int(stats["by_model"].get("fake-agent", 0)),
        "agent_calls_made": made,
        "meta_calls": int(stats["by_model"].get("fake-meta", 0)),
        "seconds": seconds,
        "prompts": prompts,
        "meta_messages": meta_messages,
    }


def _calls_made(run_dir: Path) -> int:
    """Model calls the agents made, cache hits included (the server saw only the misses)."""
    from agentkit.archive import Archive

    with Archive.open(run_dir) as archive:
        return sum(
            r.llm_calls
            for a in archive.agents()
            for split in ("search", "test")
            for r in archive.results(a.id, split)
        )


def _meta_prompts(run_dir: Path) -> list[dict[str, int]]:
    """Per proposal, in generation order: its generation, the archive size when its prompt was built,
    and agentkit's own estimate of the prompt's tokens."""
    from agentkit.archive import Archive

    with Archive.open(run_dir) as archive:
        agents = archive.agents()
        out = []
        for event in archive.events("proposed"):
            generation = int(event.generation or 0)
            size = sum(1 for a in agents if a.generation < generation)
            out.append(
                {
                    "generation": generation,
                    "archive_agents": size,
                    "estimate": int(event.payload["prompt_tokens_estimate"]),
                }
            )
    return sorted(out, key=lambda p: p["generation"])


# --- scenario 4 ---------------------------------------------------------------------------------------------


async def scenario_4(sizes: Sizes) -> list[Figure]:
    """Agent-model calls of a cascade+cache search vs a full-split, no-cache one; same selected agent?"""
    full = await run_scripted_search(sizes, cascade=False)
    lean = await run_scripted_search(sizes, cascade=True)
    saving = 1 - lean["agent_calls"] / max(1, full["agent_calls"])
    same = lean["selected"] == full["selected"] and lean["selected"] is not None
    return [
        Figure(
            scenario="4",
            title=f"agent calls saved by cascade+cache, {sizes.search_generations}-generation search",
            value=round(saving, 3),
            shown=f"{saving:.0%} fewer ({lean['agent_calls']} vs {full['agent_calls']})",
            target=f">= {CALL_SAVING_TARGET:.0%} fewer, same selected agent",
            status=verdict(saving >= CALL_SAVING_TARGET and same),
            notes=(
                f"selected: {lean['selected']!r} vs {full['selected']!r} ({'same' if same else 'DIFFERENT'}); "
                f"the cascade cut agent calls to {lean['agent_calls_made']}, the cache answered "
                f"{lean['agent_calls_made'] - lean['agent_calls']} of those; "
                f"search split {sizes.search_size}, screen {sizes.screen_size}, test {sizes.test_size}; "
                f"{lean['seconds']:.0f} s vs {full['seconds']:.0f} s"
            ),
            details={"cascade_cache": _drop_prompts(lean), "full_no_cache": _drop_prompts(full)},
        )
    ]


def _drop_prompts(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k not in ("prompts", "meta_messages")}


# --- scenarios 5 and 7 (one large search in a child process) -------------------------------------------------


def large_search(sizes: Sizes) -> dict[str, Any]:
    """Run the large scripted search in a child process (so its peak RSS is its own) and read its report."""
    spec = {"mode": sizes.mode}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf._search", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=repo_root(),
        timeout=900,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"the large search failed: {' | '.join(tail)}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def figures_5_and_7(sizes: Sizes, report: dict[str, Any]) -> list[Figure]:
    """Scenario 5 (meta prompt size by archive size) and 7 (peak RSS) from the large search's report."""
    points = report["prompt_points"]
    shown = ", ".join(f"{p['archive_agents']} agents: {p['tokens']}" for p in points)
    top = max(p["tokens"] for p in points)
    low = min(p["tokens"] for p in points)
    flat = top <= 1.25 * low
    agents = report["agents"]
    return [
        Figure(
            scenario="5",
            title="meta prompt tokens by archive size",
            value=float(top),
            shown=shown,
            target=f"flat, < {PROMPT_TOKEN_TARGET // 1000}k",
            status=verdict(flat and top < PROMPT_TOKEN_TARGET),
            notes=(
                "tokens counted with the gpt-4o tokenizer (litellm.token_counter) on the prompts the meta "
                "model received; agentkit's own chars/4 estimate: "
                + ", ".join(str(p["estimate"]) for p in points)
                + "; flat = largest within 25% of smallest"
            ),
            details={"points": points},
        ),
        Figure(
            scenario="7",
            title=f"peak RSS of the host, search growing to {agents} agents",
            value=round(report["peak_rss_mb"], 1),
            shown=f"{report['peak_rss_mb']:.0f} MB",
            target=f"< {RSS_TARGET_MB:.0f} MB",
            status=verdict(report["peak_rss_mb"] < RSS_TARGET_MB and agents >= sizes.memory_agents),
            notes=(
                f"{report['generations']} generations x {sizes.memory_parallel} candidates, search split "
                f"{sizes.memory_search_size}, screen {sizes.memory_screen_size}; RSS after imports "
                f"{report['base_rss_mb']:.0f} MB; sandbox workers are separate processes; took {report['seconds']:.0f} s"
            ),
            details={k: v for k, v in report.items() if k != "prompt_points"},
        ),
    ]


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from benchmarks.perf._sizes import FULL, QUICK

    sizes = FULL if spec["mode"] == "full" else QUICK
    # Import what the search uses before taking the baseline, so the peak shows the search's own growth.
    import agentkit.archive
    import agentkit.evaluate
    import agentkit.search
    from agentkit.llm._litellm import get_litellm

    get_litellm()
    base = _rss_mb("VmRSS")
    generations = math.ceil(sizes.memory_agents / sizes.memory_parallel) + 1
    started = time.perf_counter()
    run = asyncio.run(
        run_scripted_search(
            sizes,
            cascade=True,
            parallel=sizes.memory_parallel,
            generations=generations,
            search_size=sizes.memory_search_size,
            screen_size=sizes.memory_screen_size,
            keep_meta_prompts=True,
        )
    )
    seconds = time.perf_counter() - started
    peak = _rss_mb("VmHWM")  # before counting tokens below, which is not part of the search
    litellm = get_litellm()
    points: list[dict[str, Any]] = []
    for wanted in PROMPT_POINTS:
        target = min(wanted, sizes.memory_agents)
        hit = next((p for p in run["prompts"] if p["archive_agents"] >= target), None)
        if hit is None or any(p["generation"] == hit["generation"] for p in points):
            continue
        # Proposal requests arrive generation by generation, `parallel` of them each.
        messages = run["meta_messages"][(hit["generation"] - 1) * sizes.memory_parallel]
        tokens = int(litellm.token_counter(model="gpt-4o", messages=messages))
        points.append({**hit, "tokens": tokens})
    return {
        "peak_rss_mb": peak,
        "base_rss_mb": base,
        "seconds": seconds,
        "generations": generations,
        "agents": run["agents"],
        "status": run["status"],
        "agent_calls": run["agent_calls"],
        "meta_calls": run["meta_calls"],
        "prompt_points": points,
        "agentkit_modules": [m.__name__ for m in (agentkit.archive, agentkit.evaluate, agentkit.search)],
    }


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))), flush=True)
