"""The demo's search on the embedded local model: the small model writes poor agents and broken JSON,
and the run must still finish with every failure recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentkit
from agentkit.archive import Archive
from agentkit.cli._search import demo_config

pytestmark = [pytest.mark.local_model, pytest.mark.sandbox]


@pytest.mark.timeout(900)
async def test_demo_search_finishes_on_the_local_model(tmp_path: Path) -> None:
    config = demo_config().model_copy(update={"generations": 1})
    outcome = await agentkit.run_search(config, tmp_path / "demo")  # as `agentkit demo` runs it
    assert outcome.status == "finished", outcome.reason
    assert outcome.selected is not None  # the seed at least is fully evaluated
    with Archive.open(tmp_path / "demo") as archive:
        assert archive.integrity_check() == []
        proposals = [a for a in archive.agents() if a.origin == "meta"]
        assert proposals, "the meta agent's proposals (good or bad) are stored"
        for agent in proposals:
            # Every candidate ended somewhere definite, with the reason when it failed.
            assert agent.status in ("failed", "screened", "evaluated"), agent
            if agent.status == "failed":
                assert agent.meta.get("failure"), agent
        assert archive.get_state("final_summary")["selected"]["id"] == outcome.selected.id
