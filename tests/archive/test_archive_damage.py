"""A damaged or half-made archive: one line naming the file, and nothing written into it; a run whose
creation was cut short can be started again (it left an `archive.sqlite` that neither a resume nor a new
start could get past)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.archive import Archive
from agentkit.errors import ArchiveError

CODE = "def forward(self, taskInfo):\n    return 'x'\n"


def _damaged_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    with Archive.create(run_dir, {"task": "gsm8k"}) as archive:
        for i in range(60):  # enough pages that the zeroed ones are inside tables
            archive.add_agent(f"agent {i}", CODE + "#" * 2000, thought="t" * 2000, status="evaluated")
    db = run_dir / "archive.sqlite"
    with db.open("r+b") as f:
        f.seek(4096 * 3)
        f.write(b"\0" * 4096 * 6)
    return run_dir


def test_show_of_a_damaged_archive_names_the_file_in_one_line(tmp_path: Path) -> None:
    run_dir = _damaged_run(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "show", str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "archive.sqlite" in lines[0] and "damaged" in lines[0]


def test_a_writer_refuses_a_damaged_archive_before_writing_to_it(tmp_path: Path) -> None:
    run_dir = _damaged_run(tmp_path)
    db = run_dir / "archive.sqlite"
    before = db.read_bytes()
    with pytest.raises(ArchiveError, match=r"is damaged .*nothing was written to it"):
        Archive.open(run_dir, lock=True)
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


def test_a_creation_cut_short_leaves_no_archive_and_can_start_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"

    def killed(*_: object) -> None:  # a test double: the process dies just before the move
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", killed)
        patch.setattr(os, "replace", killed)
        with pytest.raises(KeyboardInterrupt):
            Archive.create(run_dir, {"task": "gsm8k"})
    assert not (run_dir / "archive.sqlite").exists()
    assert not Archive.exists(run_dir)
    # The same start again works, over the leftover of the first.
    with Archive.create(run_dir, {"task": "gsm8k", "again": True}) as archive:
        assert archive.info().config["again"] is True
        assert archive.integrity_check() == []
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".archive")) == []


def test_a_new_archive_neither_inherits_a_stale_wal_nor_replaces_another(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with Archive.create(run_dir, {"who": "old"}) as old:
        old.set_state("generations_done", 7)
        wal = Path(f"{old.db_path}-wal")
        kept = wal.read_bytes() if wal.exists() else b""
    # The database removed by hand, its write-ahead log left behind (or copied back) beside it.
    (run_dir / "archive.sqlite").unlink()
    if kept:
        wal.write_bytes(kept)
    with Archive.create(run_dir, {"who": "new"}) as new:
        assert new.config["who"] == "new" and new.get_state("generations_done") is None
        # A second creator (without the lock) is refused instead of replacing the file under it.
        with pytest.raises(ArchiveError, match="already holds an archive"):
            Archive._build(run_dir, {"who": "third"}, 5.0)
        assert new.config["who"] == "new"
    with Archive.open(run_dir) as again:
        assert again.config["who"] == "new"
