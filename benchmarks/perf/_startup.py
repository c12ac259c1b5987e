"""Scenario 6: how long `agentkit --help` takes, and what `import agentkit` costs."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.perf._results import Figure, verdict
from benchmarks.perf._sizes import Sizes

HELP_TARGET_S = 0.5


def _median_wall(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True, check=True)  # untimed: page cache, .pyc files
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _heavy_modules() -> list[str]:
    """Heavy libraries that `import agentkit.cli` pulls in (there should be none)."""
    code = (
        "import sys, agentkit.cli; "
        "print(','.join(m for m in ('litellm', 'datasets', 'numpy', 'openai', 'aiohttp') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


async def scenario_6(sizes: Sizes) -> list[Figure]:
    """`agentkit --help` wall time (the console script), and `import agentkit` over a bare interpreter."""
    script = Path(sys.executable).with_name("agentkit")
    cli = [str(script)] if script.exists() else [shutil.which("agentkit") or "agentkit"]
    if not Path(cli[0]).exists():
        cli = [sys.executable, "-m", "agentkit"]
    runs = sizes.startup_runs
    help_s = _median_wall([*cli, "--help"], runs)
    bare_s = _median_wall([sys.executable, "-c", "pass"], runs)
    import_s = _median_wall([sys.executable, "-c", "import agentkit"], runs)
    heavy = _heavy_modules()
    return [
        Figure(
            scenario="6a",
            title="start-up: `agentkit --help` wall time",
            value=round(help_s, 3),
            shown=f"{help_s * 1000:.0f} ms",
            target=f"< {HELP_TARGET_S * 1000:.0f} ms",
            status=verdict(help_s < HELP_TARGET_S),
            notes=(
                f"median of {runs} runs of {' '.join(Path(c).name for c in cli)} --help; heavy modules "
                f"imported by agentkit.cli: {', '.join(heavy) or 'none'}"
            ),
            details={"help_s": help_s, "heavy_modules": heavy, "cpu_count": os.cpu_count()},
        ),
        Figure(
            scenario="6b",
            title="start-up: `import agentkit` cost",
            value=round(import_s - bare_s, 3),
            shown=f"{(import_s - bare_s) * 1000:.0f} ms",
            target="(reported)",
            status="info",
            notes=f"`python -c 'import agentkit'` {import_s * 1000:.0f} ms minus bare interpreter {bare_s * 1000:.0f} ms",
            details={"import_s": import_s, "bare_s": bare_s},
        ),
    ]
