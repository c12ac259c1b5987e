"""Runs the scenarios in order, each guarded so that one failure is reported and the rest still run."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from benchmarks.perf import _endtoend, _evaluation, _peer, _ray, _search, _selection, _startup
from benchmarks.perf._results import Figure, not_measured, write
from benchmarks.perf._sizes import Sizes

Scenario = Callable[[Sizes], Awaitable[list[Figure]]]


async def _scenarios_5_and_7(sizes: Sizes) -> list[Figure]:
    report = await asyncio.to_thread(_search.large_search, sizes)
    return _search.figures_5_and_7(sizes, report)


# Key -> (ids it reports, runner). Start-up and the sandbox's cold start come first, while this
# process is still fresh.
SCENARIOS: dict[str, tuple[tuple[str, ...], Scenario]] = {
    "6": (("6a", "6b"), _startup.scenario_6),
    "3": (("3",), _evaluation.scenario_3),
    "1": (("1a", "1b", "1a*", "1b*"), _evaluation.scenario_1),
    "8": (("8",), _evaluation.scenario_8),
    "2": (("2",), _peer.scenario_2),
    "4": (("4",), _search.scenario_4),
    "5+7": (("5", "7"), _scenarios_5_and_7),
    "9": (("9a", "9b", "9c"), _selection.scenario_9),
    "10": (tuple(_endtoend.TITLES), _endtoend.scenario_10),
    "11": (("11",), _ray.scenario_11),
}

_TITLES = {
    "1a": "evaluation vs limit, one-call agent",
    "1b": "evaluation vs limit, five-call agent",
    "1a*": "evaluation vs limit, one-call agent, in-process (no sandbox)",
    "1b*": "evaluation vs limit, five-call agent, in-process (no sandbox)",
    "2": _peer.TITLE,
    "3": "sandbox overhead per example (warm)",
    "4": "agent calls saved by cascade+cache",
    "5": "meta prompt tokens by archive size",
    "6a": "start-up: `agentkit --help` wall time",
    "6b": "start-up: `import agentkit` cost",
    "7": "peak RSS of the host during a 200-agent search",
    "8": "scale: examples/s by concurrency",
    **_selection.TITLES,
    **_endtoend.TITLES,
    "11": _ray.TITLE,
}


def _selected(only: Sequence[str] | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    wanted = {w.strip() for w in only}
    keys = [k for k in SCENARIOS if wanted & {k, *k.split("+"), *SCENARIOS[k][0]}]
    unknown = wanted - {x for k in SCENARIOS for x in (k, *k.split("+"), *SCENARIOS[k][0])}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: 1-11")
    return keys


async def _run_one(key: str, sizes: Sizes, profile_dir: Path | None) -> list[Figure]:
    ids, scenario = SCENARIOS[key]
    profiler = None
    if profile_dir is not None:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("      --profile needs pyinstrument (pip install -e '.[bench]'); running unprofiled")
        else:
            profiler = Profiler(async_mode="enabled")
            profiler.start()
    try:
        return await scenario(sizes)
    except Exception as exc:  # one broken scenario must not hide the others' figures
        reason = f"failed: {type(exc).__name__}: {exc}".strip()
        traceback.print_exc()
        return [not_measured(i, _TITLES[i], "-", reason) for i in ids]
    finally:
        if profiler is not None and profile_dir is not None:
            profiler.stop()
            profile_dir.mkdir(parents=True, exist_ok=True)
            path = profile_dir / f"profile-{key.replace('+', '-')}.txt"
            path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
            print(f"      profile written to {path}")


async def run_benchmarks(
    sizes: Sizes,
    *,
    only: Sequence[str] | None = None,
    out_dir: Path | None = None,
    profile: bool = False,
    argv: Sequence[str] = (),
) -> list[Figure]:
    """Run the selected scenarios (all by default), print each figure, write the results files."""
    started = time.perf_counter()
    figures: list[Figure] = []
    print(f"agentkit performance benchmarks ({sizes.mode} sizes)", flush=True)
    for key in _selected(only):
        began = time.perf_counter()
        got = await _run_one(key, sizes, out_dir if profile else None)
        for figure in got:
            print(figure.line(), flush=True)
        print(f"      ({time.perf_counter() - began:.0f} s)", flush=True)
        figures.extend(got)
    order = [i for _, (ids, _) in SCENARIOS.items() for i in ids]
    figures.sort(key=lambda f: order.index(f.scenario) if f.scenario in order else len(order))
    elapsed = time.perf_counter() - started
    if out_dir is not None:
        json_path, md_path = write(out_dir, figures, mode=sizes.mode, elapsed_s=elapsed, argv=list(argv))
        print(f"\nwrote {json_path} and {md_path}\n")
        print(md_path.read_text())
    return figures
