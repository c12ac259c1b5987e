"""Components measured, not asserted: the random control partner is bred from in a seeded share of slots,
the proposal before self-review is stored and (a sample of them) scored, and the report and ``show
--json`` of a fake-server search give rule lift, complementary against random gain and the self-review
effect, each with an interval and the number of samples behind it."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from search_scripted import (
    AgentWorld,
    agent_code,
    last_assistant,
    last_user,
    proposal,
    responder,
    stable_hash,
)
from typer.testing import CliRunner

import agentkit
from agentkit.archive import Archive
from agentkit.cli import app
from agentkit.report import build_report
from agentkit.search import REVIEW_SPLIT, ScoredAgent, SearchConfig, review_controls, select_parents
from agentkit.search._briefing import uses_control
from agentkit.testing import FakeOpenAIServer


def test_the_control_draw_is_seeded_and_takes_its_share() -> None:
    draws = [uses_control(3, g, s, 0.25) for g in range(1, 101) for s in range(4)]
    assert draws == [uses_control(3, g, s, 0.25) for g in range(1, 101) for s in range(4)]  # resumable
    assert 0.18 < sum(draws) / len(draws) < 0.32
    assert draws != [uses_control(4, g, s, 0.25) for g in range(1, 101) for s in range(4)]  # per run seed
    assert not any(uses_control(3, g, s, 0.0) for g in range(1, 50) for s in range(4))


def test_select_parents_breeds_from_the_control_only_when_told() -> None:
    pool = [
        ScoredAgent("a1", "A", 0.5, 0.6, {"q1": True, "q2": False, "q3": False}),
        ScoredAgent("a2", "B", 0.4, 0.5, {"q1": False, "q2": True, "q3": True}),
        ScoredAgent("a3", "C", 0.3, 0.4, {"q1": True, "q2": False, "q3": False}),
        ScoredAgent("a4", "D", 0.2, 0.3, {"q1": False, "q2": False, "q3": True}),
    ]
    for seed in range(20):
        plain = select_parents(pool, mode="complementary", rng=random.Random(seed), inspirations=2)
        bred = select_parents(
            pool, mode="complementary", rng=random.Random(seed), inspirations=2, use_control=True
        )
        assert plain.partner == "complementary" and bred.partner == "random"
        assert plain.parents[0] == bred.parents[0]  # the same main parent either way
        assert plain.control_partner == bred.control_partner == bred.parents[1]
        assert bred.details["partner_used"] == "random" and bred.parents[1] not in bred.inspirations
    best = select_parents(pool, mode="best", rng=random.Random(0), use_control=True)
    assert best.partner is None and best.parents == ["a1", "a2"]  # only complementary mode uses it


class _World(AgentWorld):
    """Proposals before review (PRE..) are right on a quarter of the questions, reviewed ones (REV..)
    on three quarters, seeds on about half."""

    def correct(self, marker: str | None, question: str) -> bool:
        share = {"PRE": 1, "REV": 3}.get((marker or "")[:3])
        if share is None:
            return super().correct(marker, question)
        return stable_hash(f"{marker}|{question}") % 4 < share


class _Meta:
    """Proposal n is agent PRE<n>; its review rewrites it into REV<n>."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.proposals = 0

    def reply(self, body: dict[str, Any]) -> str:
        if "Review the agent you just proposed" in last_user(body):
            previous = json.loads(last_assistant(body))
            code = str(previous["code"]).replace("PRE", "REV")
            return json.dumps({**previous, "reflection": "Tightened the prompt.", "code": code})
        with self._lock:
            n = self.proposals
            self.proposals += 1
        return proposal(f"Agent {n}", agent_code(f"PRE{n:02d}"), thought=f"Design {n}.")


def _config(server: FakeOpenAIServer) -> SearchConfig:
    return SearchConfig.model_validate(
        {
            "task": "gen/arithmetic",
            "model": "openai/fake-agent",
            "meta_model": "openai/fake-meta",
            "api_base": server.base_url,
            "generations": 6,
            "parallel": 2,
            "search_size": 10,
            "test_size": 2,
            "screen_size": 0,
            "self_review": 1,
            "debug_attempts": 0,
            "seeds": ["cot", "step_back", "self_refine"],
            "control_share": 0.5,
            "review_check": 3,
            "top_k": 1,
            "sandbox": {"isolation": "process", "workers": 2},
            "concurrency": 5,
            "cache": False,
            "progress": False,
            "proposals": "code",
            "ensembles": False,
            "reflect": {"hide_share": 0.5, "contrastive": False},
        }
    )


@pytest.mark.sandbox
async def test_a_search_measures_its_components_and_the_report_shows_them(tmp_path: Path) -> None:
    meta = _Meta()
    with FakeOpenAIServer(responder(_World(), meta, reflect=True)) as server:  # type: ignore[arg-type]
        config = _config(server)
        outcome = await agentkit.run_search(config, tmp_path / "run")
    assert outcome.status == "finished", outcome.reason

    with Archive.open(tmp_path / "run") as archive:
        assert archive.events("hook_error") == []
        # The random control is bred from exactly in the seeded share of slots, and recorded.
        selections = archive.events("selection")
        assert len(selections) == 12
        slots = {(a.generation, a.meta["slot"]): a for a in archive.agents(origin="meta")}
        for event in selections:
            g, slot = event.generation, event.payload["slot"]
            assert g is not None
            drawn = uses_control(config.seed, g, slot, 0.5)
            assert event.payload["partner_used"] == ("random" if drawn else "complementary")
            assert event.payload["parents"][1] == (
                event.payload["control_partner"] if drawn else event.payload["partner"]
            )
            assert slots[(g, slot)].meta["partner"] == event.payload["partner_used"]
            assert slots[(g, slot)].parents == event.payload["parents"]
        used = [e.payload["partner_used"] for e in selections]
        assert used.count("random") >= 2 and used.count("complementary") >= 2

        # Every reviewed proposal keeps its version before review; the first three are scored as controls.
        reviewed = archive.agents(origin="meta")
        assert all(
            a.meta["pre_review"]["changed"] and "PRE" in a.meta["pre_review"]["code"] for a in reviewed
        )
        assert all("REV" in a.code for a in reviewed)
        controls = review_controls(archive)
        assert len(controls) == 3
        for control in controls:
            assert control.origin == "control" and control.status == "evaluated" and "PRE" in control.code
            assert len(archive.results(control.id, REVIEW_SPLIT)) == 10
            assert archive.results(control.id, "search") == [] and control.search_summary is None
            partner = archive.agent(control.meta["pre_review_of"])
            assert partner.parents == control.parents and partner.meta["pre_review"]["code"] == control.code
        # ... and never selected, never bred from, never shown.
        control_ids = {c.id for c in controls}
        assert not any(set(a.parents) & control_ids for a in archive.agents())
        assert not any(set(e.payload["inspirations"]) & control_ids for e in selections)
        assert outcome.selected is not None and outcome.selected.id not in control_ids

    result = CliRunner().invoke(app, ["show", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    effects = json.loads(result.stdout)["effects"]
    # Rule lift with an interval and the samples behind it.
    measured = [r for r in effects["rules"] if r["lift"] is not None]
    assert measured, effects["rules"]
    for rule in measured:
        assert rule["shown"] >= 2 and rule["hidden"] >= 2
        assert rule["lift"]["low"] <= rule["lift"]["mean"] <= rule["lift"]["high"]
        assert rule["verdict"] in ("too few", "hurts", "useless", "helps", "unclear") and rule["reason"]
    # Complementary against random partners, each with n and an interval, and their difference.
    partners = effects["partners"]
    assert partners["control_share"] == 0.5
    assert partners["complementary"]["n"] + partners["random"]["n"] == 12
    for kind in ("complementary", "random"):
        group = partners[kind]
        assert group["n"] >= 2 and group["questions"] == 10 * group["n"] and group["gain"] is not None
    assert partners["difference"] is not None
    # The self-review effect: reviewed minus before review on the same questions, over the three pairs.
    review = effects["review"]
    assert (review["reviewed"], review["changed"], review["pairs"], review["questions"]) == (12, 12, 3, 30)
    assert review["effect"] is not None and review["effect"]["mean"] > 0
    assert review["reviewed_mean"] > review["before_mean"]

    with Archive.open(tmp_path / "run") as archive:
        html = build_report(archive)
    assert 'id="effects"' in html and "Measured effects" in html
    assert "Complementary minus random: <b>" in html
    assert "Reviewed minus before review: <b>" in html and "n = 30 questions over 3 pairs" in html
    assert "n shown" in html and "n hidden" in html
