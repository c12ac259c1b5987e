"""The exploration monitor's figures against hand computation, and the rules that act on them."""

from __future__ import annotations

import math

import pytest
from reflect_helpers import add_scored, make_ctx

from agentkit.archive import Archive
from agentkit.llm import LLMClient, ModelConfig
from agentkit.reflect import (
    AgentFacts,
    Decision,
    MonitorSnapshot,
    ReflectConfig,
    ReflectHooks,
    compute_snapshot,
    decide,
    monitor_history,
)
from agentkit.search import GenerationSettings
from agentkit.tasks import Example

EXAMPLES = ["e0", "e1", "e2", "e3"]


def _row(*bits: int) -> dict[str, float]:
    return {f"e{i}": float(b) for i, b in enumerate(bits)}


MATRIX = {
    "s1": _row(1, 1, 0, 0),
    "s2": _row(0, 1, 1, 0),
    "c1": _row(1, 1, 1, 0),  # beats s1 (3 vs 2), new behaviour
    "c2": _row(0, 1, 1, 0),  # copies s2's behaviour, does not beat it
    "c4": {"e0": 0.0, "e1": 0.0},  # screened only, worse than s2 on e0, e1
}
AGENTS = [
    AgentFacts("s1", 0, (), candidate=False),
    AgentFacts("s2", 0, (), candidate=False),
    AgentFacts("c1", 1, ("s1",)),
    AgentFacts("c2", 1, ("s2",)),
    AgentFacts("c3", 1, ("s1",)),  # failed its checks: no results
    AgentFacts("c4", 1, ("s2",)),
]


def test_snapshot_matches_hand_computation() -> None:
    snap = compute_snapshot(MATRIX, EXAMPLES, AGENTS, 1, screen_size=2, balance_target=0.5)
    assert snap.agents == 5 and snap.candidates == 4 and snap.fully_scored == 4
    assert snap.coverage == 0.75  # e3 is solved by nobody
    assert snap.distinct_behaviours == 3 and snap.behaviour_diversity == 0.75
    # nearest earlier agent: c1 -> 1/4 (s1 or s2), c2 -> 0 (s2), c4 -> 1/2 (s2 on e0, e1)
    assert snap.novelty == pytest.approx((0.25 + 0.0 + 0.5) / 3)
    assert snap.beat_parent_share == 0.25 and snap.exploitation == 0.25
    assert snap.exploration == 0.25
    assert snap.balance == pytest.approx(min(0.25 / 0.5, 1.0) * 0.25)
    # screen means (e0, e1) 1, .5, 1, .5 against full means .5, .5, .75, .5: r = 1/sqrt(3)
    assert snap.screen_correlation == pytest.approx(1 / math.sqrt(3))


def test_snapshot_of_the_seed_generation() -> None:
    snap = compute_snapshot(MATRIX, EXAMPLES, AGENTS, 0, screen_size=2)
    assert snap.agents == 2 and snap.candidates == 0 and snap.coverage == 0.75
    assert snap.distinct_behaviours == 2 and snap.behaviour_diversity == 1.0
    assert snap.novelty is None and snap.beat_parent_share is None and snap.balance is None
    assert snap.screen_correlation is None  # two points are not a correlation


def _snap(
    generation: int, coverage: float, diversity: float, corr: float | None = None, full: int = 5
) -> MonitorSnapshot:
    return MonitorSnapshot(
        generation=generation,
        agents=full,
        candidates=1,
        coverage=coverage,
        fully_scored=full,
        distinct_behaviours=round(diversity * full),
        behaviour_diversity=diversity,
        novelty=None,
        beat_parent_share=None,
        screen_correlation=corr,
        exploration=None,
        exploitation=None,
        balance=None,
    )


def test_flat_coverage_and_falling_diversity_raise_exploration_then_growth_lowers_it() -> None:
    cfg = ReflectConfig()
    flat = [_snap(0, 0.5, 1.0), _snap(1, 0.5, 0.8), _snap(2, 0.505, 0.6)]
    up = decide(flat, previous=Decision(0, 10), base_screen_size=10, n_examples=50, config=cfg)
    assert up.level == 1 and "diversity falling" in up.notes[0]
    rising = decide([*flat, _snap(3, 0.7, 0.6)], previous=up, base_screen_size=10, n_examples=50, config=cfg)
    assert rising.level == 0 and "coverage grew" in rising.notes[0]
    steady = decide(
        [_snap(0, 0.5, 0.6), _snap(1, 0.5, 0.8), _snap(2, 0.5, 0.9)],
        previous=Decision(0, 10),
        base_screen_size=10,
        n_examples=50,
        config=cfg,
    )
    assert steady.level == 0 and steady.notes == []  # flat but diversity rising: leave it


def test_poor_screening_enlarges_the_screening_subset_up_to_its_limit() -> None:
    cfg = ReflectConfig()
    d = decide(
        [_snap(0, 0.5, 1.0, corr=0.2)],
        previous=Decision(0, 10),
        base_screen_size=10,
        n_examples=50,
        config=cfg,
    )
    assert d.screen_size == 15
    d = decide([_snap(1, 0.5, 1.0, corr=0.2)], previous=d, base_screen_size=10, n_examples=50, config=cfg)
    assert d.screen_size == 23
    d = decide([_snap(2, 0.5, 1.0, corr=0.2)], previous=d, base_screen_size=10, n_examples=50, config=cfg)
    assert d.screen_size == 25  # screen_max_share 0.5 of 50
    few = decide(
        [_snap(0, 0.5, 1.0, corr=0.2, full=3)],
        previous=Decision(0, 10),
        base_screen_size=10,
        n_examples=50,
        config=cfg,
    )
    assert few.screen_size == 10  # too few agents to trust the correlation
    good = decide(
        [_snap(0, 0.5, 1.0, corr=0.9)],
        previous=Decision(0, 10),
        base_screen_size=10,
        n_examples=50,
        config=cfg,
    )
    assert good.screen_size == 10


async def test_hooks_log_figures_and_apply_adjustments_once_per_generation(
    archive: Archive, client: LLMClient, model: ModelConfig, examples: list[Example]
) -> None:
    add_scored(archive, examples, "Seed", range(10), origin="seed")
    add_scored(archive, examples, "Other", range(5, 15), origin="seed")
    ctx = make_ctx(archive, client, model, examples, screen_size=4)
    for g, (cov, div) in enumerate([(0.5, 1.0), (0.5, 0.8), (0.5, 0.6)], start=1):
        archive.log_event("monitor", _snap(g, cov, div).model_dump(mode="json"), generation=g)
    hooks = ReflectHooks(ReflectConfig())
    base = GenerationSettings(meta_temperature=0.8, inspirations=3, screen_size=4)
    settings = await hooks.before_generation(ctx, 4, base)
    assert settings.meta_temperature == pytest.approx(0.95) and settings.inspirations == 4
    assert settings.screen_size == 4 and settings.notes
    again = await hooks.before_generation(
        ctx, 4, GenerationSettings(meta_temperature=0.8, inspirations=3, screen_size=4)
    )
    assert again.meta_temperature == settings.meta_temperature and again.inspirations == 4
    assert len(archive.events("monitor_adjust")) == 1
    # The seeds' generation 0 gets its figures logged when generation 1 starts.
    await hooks.before_generation(ctx, 1, base)
    zero = [s for s in monitor_history(archive) if s.generation == 0]
    assert zero and zero[0].agents == 2 and zero[0].coverage == 15 / 20
    # Switched off, nothing changes.
    off = ReflectHooks(ReflectConfig(monitor=False))
    same = await off.before_generation(ctx, 5, base)
    assert same == base
