"""Ctrl-C in `agentkit sweep` during a search cell stops the sweep (it does not go on to the next cell),
records the search as interrupted, exits 130, and the same command then finishes the grid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import interrupt_agentkit, run_agentkit
from search_scripted import AgentWorld, ScriptedMeta, hashed_meta_reply, responder

from agentkit.archive import Archive
from agentkit.testing import FakeOpenAIServer

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]


def _grid(tmp_path: Path, server: FakeOpenAIServer) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(
        'tasks = ["gen/arithmetic"]\nmodels = ["openai/fake-agent"]\nseeds = [0, 1]\nconcurrency = 2\n'
        f'api_base = "{server.base_url}"\n\n'
        '[[searches]]\nname = "short"\ngenerations = 3\nsearch_size = 6\ntest_size = 3\nscreen_size = 0\n'
        'self_review = 1\nseeds = ["cot"]\nproposals = "code"\nensembles = false\ncache = false\n'
    )
    return path


def test_ctrl_c_stops_the_sweep_in_its_search_cell_and_the_rerun_finishes(tmp_path: Path) -> None:
    meta = ScriptedMeta(lambda index, body: hashed_meta_reply(body), lambda body: hashed_meta_reply(body))
    with FakeOpenAIServer(responder(AgentWorld(), meta), latency_s=0.05) as server:
        grid, out = _grid(tmp_path, server), tmp_path / "sweep"
        command = ["sweep", "--grid", str(grid), "--out", str(out), "--isolation", "process", "--json"]

        cells: list[Path] = []  # the cells there when Ctrl-C was pressed

        def first_cell_mid_search() -> bool:
            cells[:] = sorted(p.parent for p in out.glob("*/archive.sqlite"))
            return bool(cells) and _proposed(cells[0])

        stopped = interrupt_agentkit(*command, cwd=tmp_path, ready=first_cell_mid_search)
        err = stopped.stderr
        assert stopped.returncode == 130, err[-3000:]
        assert "interrupted; run the same command again" in err
        assert len(cells) == 1
        # the sweep stopped: no later cell was started
        assert sorted(p.parent for p in out.glob("*/archive.sqlite")) == cells
        with Archive.open(cells[0]) as archive:
            assert archive.integrity_check() == []
            assert archive.get_state("status") == "interrupted"

        again = run_agentkit(*command, cwd=tmp_path)
        assert again.returncode == 0, again.stderr[-3000:]
        payload = json.loads(again.stdout)
        assert payload["cells"] == payload["finished"] == 2
        with Archive.open(cells[0]) as archive:
            assert archive.get_state("status") == "finished"
            assert len(archive.events("interrupted")) == 1


def _proposed(run_dir: Path) -> bool:
    try:
        with Archive.open(run_dir) as archive:
            return bool(archive.events("proposed"))
    except Exception:
        return False  # still being created
