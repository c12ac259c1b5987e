"""What a scenario reports, the machine it ran on, and the JSON and markdown files written at the end."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["pass", "miss", "info", "not measured"]


class Figure(BaseModel):
    """One measured figure of a scenario, with its target and verdict."""

    scenario: str
    """Scenario id, e.g. ``"1a"``."""
    title: str
    """What was measured, in a few words."""
    value: float | None
    """The figure (None when not measured)."""
    shown: str
    """The figure as printed, with its unit."""
    target: str
    """The target, as printed (e.g. ``">= 0.85 of the limit"``)."""
    status: Status
    """pass, miss, info (a figure with no target), or not measured (then `notes` says why)."""
    notes: str = ""
    """Sizes used, context needed to read the figure, or why it was not measured."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Raw measurements behind the figure (times, counts, per-step values)."""

    def line(self) -> str:
        """One console line: id, title, figure, target, verdict."""
        verdict = {"pass": "PASS", "miss": "MISS", "info": "INFO", "not measured": "NOT MEASURED"}[
            self.status
        ]
        text = f"[{self.scenario:>3}] {self.title}: {self.shown} (target {self.target}) -> {verdict}"
        return text + (f"\n      {self.notes}" if self.notes else "")


def verdict(ok: bool) -> Status:
    """pass when `ok`, else miss."""
    return "pass" if ok else "miss"


def not_measured(scenario: str, title: str, target: str, reason: str) -> Figure:
    """A figure that could not be measured, saying why."""
    return Figure(
        scenario=scenario,
        title=title,
        value=None,
        shown="-",
        target=target,
        status="not measured",
        notes=reason,
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Date, CPU count and model, Python and OS of this run."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "os": f"{platform.system()} {platform.release()}",
        # Other work on the machine skews every figure that is a share of a limit; say how busy it was.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def markdown(figures: list[Figure], info: dict[str, Any], *, mode: str, elapsed_s: float) -> str:
    """The results as a markdown table with the date and machine above it."""
    lines = [
        f"Measured {info['date']} on {info['nproc']} cores ({info['cpu']}), Python {info['python']}, "
        f"{info['os']}; load average at the end {info['load_average'][0]:.1f} / {info['load_average'][1]:.1f} / "
        f"{info['load_average'][2]:.1f} (1/5/15 min); `make bench` ({mode} sizes) took {elapsed_s:.0f} s.",
        "",
        "| # | scenario | figure | target | result | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        notes = f.notes.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {f.scenario} | {f.title} | {f.shown} | {f.target} | {f.status} | {notes} |")
    return "\n".join(lines) + "\n"


def write(
    out_dir: Path, figures: list[Figure], *, mode: str, elapsed_s: float, argv: list[str]
) -> tuple[Path, Path]:
    """Write ``latest.json`` and ``latest.md`` into `out_dir`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    payload = {
        "machine": info,
        "mode": mode,
        "elapsed_s": round(elapsed_s, 2),
        "argv": argv,
        "figures": [f.model_dump() for f in figures],
    }
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    # Write-then-rename: a run killed half-way leaves the previous results intact.
    for path, text in (
        (json_path, json.dumps(payload, indent=2) + "\n"),
        (md_path, markdown(figures, info, mode=mode, elapsed_s=elapsed_s)),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return json_path, md_path
