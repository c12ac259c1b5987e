"""`agentkit sweep` on the session's Ray cluster: a grid of 2 tasks x 2 agents x 2 seeds completes into
one run directory per cell, goes on after the driver is killed without running a finished cell again,
and summarises (table, JSON, index.html linking each cell's report)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.sweep import CELL_FILE, read_grid
from agentkit.testing import FakeOpenAIServer

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]


def _grid(tmp_path: Path, server: FakeOpenAIServer) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(
        'tasks = ["gen/arithmetic", "gen/boolean"]\nmodels = ["openai/fake"]\nagents = ["cot", "cot_sc"]\n'
        f'seeds = [0, 1]\nlimit = 3\nconcurrency = 2\nexample_timeout_s = 60\napi_base = "{server.base_url}"\n'
    )
    return path


def _command(grid: Path, out: Path, address: str) -> list[str]:
    return [
        sys.executable, "-m", "agentkit", "sweep", "--grid", str(grid), "--out", str(out),
        "--executor", "ray", "--ray-address", address, "--json",
    ]  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    env = os.environ | {"AGENTKIT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("RAY_ADDRESS", None)
    return env


def _finished(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{CELL_FILE}")}


def test_a_sweep_completes_resumes_after_a_kill_and_summarises(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.latency_s = 0.15  # slow enough that the kill lands with cells still to run
    grid, out = _grid(tmp_path, server), tmp_path / "sweep"
    cells = [c.name for c in read_grid(grid).cells()]
    assert len(cells) == 8
    first = subprocess.Popen(
        _command(grid, out, ray_cluster), env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 200
    while len(_finished(out)) < 2 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    before = _finished(out)
    assert 2 <= len(before) < 8, "the kill should land between cells"

    again = subprocess.run(
        _command(grid, out, ray_cluster), env=_env(tmp_path), capture_output=True, text=True, timeout=240
    )
    assert again.returncode == 0, again.stderr
    after = _finished(out)
    assert set(after) == set(cells)
    assert {name: after[name] for name in before} == before  # finished cells were not run again
    for name in before:
        assert f"{name}: kept (finished before)" in again.stderr

    payload = json.loads(again.stdout)
    assert payload["executor"] == "ray" and payload["cells"] == payload["finished"] == 8
    rows = {row["cell"]: row for row in payload["rows"]}
    assert set(rows) == set(cells)
    arithmetic = [r for r in rows.values() if r["task"] == "gen/arithmetic"]
    assert all(r["n"] == 3 and 0 <= r["mean"] <= 1 for r in rows.values())
    assert any(0 < r["mean"] < 1 for r in arithmetic)  # the fake model gets some right, some wrong
    index = (out / "index.html").read_text()
    for name in cells:
        assert f'href="{name}/report.html"' in index
        assert (out / name / "report.html").exists() and (out / name / "archive.sqlite").exists()

    table = subprocess.run(
        [*_command(grid, out, ray_cluster)[:-1]],
        env=_env(tmp_path) | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert table.returncode == 0, table.stderr
    assert "8 of 8 cells finished" in table.stdout
    assert table.stdout.count("agent: cot_sc") == 4 and "index.html" in table.stdout


def test_a_cell_killed_while_its_run_was_created_starts_again_cleanly(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    import asyncio

    from agentkit.sweep import SweepGrid, run_sweep

    grid = SweepGrid(
        tasks=["gen/arithmetic"], agents=["cot"], models=["openai/fake"], limit=2, api_base=server.base_url
    )
    (cell,) = grid.cells()
    out = tmp_path / "sweep"
    aside = out / f".{cell.name}.new"  # what a kill during the run's creation leaves
    aside.mkdir(parents=True)
    (aside / "archive.sqlite").write_bytes(b"SQLite format 3\x00 half written")
    (row,) = asyncio.run(run_sweep(grid, out, isolation="process", cache=False))
    assert row is not None and row.n == 2 and not aside.exists()
    assert (out / cell.name / "report.html").exists()
