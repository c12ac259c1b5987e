"""Open report.html in real headless Chromium: it renders offline, and the charts are in the live DOM."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from required_tools import require_tool

from agentkit.report import write_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    require_tool(
        "chromium",
        Path(CHROMIUM).exists(),
        "the report's browser test needs it (Debian package 'chromium'; `make setup` installs it)",
    )
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_renders_in_chromium(run: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    run_dir, _ = run
    report = write_report(run_dir)
    url = report.resolve().as_uri()

    shot = tmp_path / "report.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert shot.is_file(), f"no screenshot written: {proc.stderr[-2000:]}"
    data = shot.read_bytes()
    assert _png_size(data) == (1280, 2000)
    # A blank page of this size compresses to a few kB; the rendered report is far larger.
    assert len(data) > 40_000, len(data)

    proc = _chromium(tmp_path, "--dump-dom", "--window-size=1280,2000", url)
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '<svg class="chart line-chart"' in dom
    assert '<svg class="chart interval-chart"' in dom
    assert dom.count('class="agent-score"') == 4  # one whisker per agent with a search score
    assert 'id="lineage"' in dom and 'id="monitor"' in dom
    assert "Selected: Self-Refine Critic" in dom
    assert "<script" not in dom  # the hostile agent text stayed text
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt;" in dom
