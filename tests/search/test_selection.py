"""Parent selection: tournament, complementary partner, random-partner control, inspirations."""

from __future__ import annotations

import random

from agentkit.search import ScoredAgent, complementary_partner, coverage_gain, select_parents, tournament

EXAMPLES = [f"e{i}" for i in range(10)]


def agent(agent_id: str, solved: set[int], low: float | None = None) -> ScoredAgent:
    mean = len(solved) / len(EXAMPLES)
    return ScoredAgent(
        id=agent_id,
        name=agent_id.upper(),
        low=mean - 0.2 if low is None else low,
        mean=mean,
        correct={e: i in solved for i, e in enumerate(EXAMPLES)},
    )


def test_complementary_partner_covers_the_first_parents_failures() -> None:
    first = agent("a1", {0, 1, 2, 3, 4, 5})  # fails 6..9
    strong_overlap = agent("a2", {0, 1, 2, 3, 4, 5, 6})  # better score, covers only 6
    complement = agent("a3", {6, 7, 8, 9})  # weaker score, covers all four failures
    weak = agent("a4", {0})
    partner = complementary_partner(first, [first, strong_overlap, complement, weak])
    assert partner is not None and partner.id == "a3"
    assert coverage_gain(first, complement) == 4
    assert coverage_gain(first, strong_overlap) == 1


def test_complementary_selection_logs_the_partner_and_a_random_control() -> None:
    first = agent("a1", {0, 1, 2, 3, 4, 5, 6, 7}, low=0.6)  # the clear best: wins any tournament it is in
    complement = agent("a2", {8, 9}, low=0.0)
    others = [agent(f"b{i}", {0, 1}, low=0.1) for i in range(6)]
    pool = [first, complement, *others]
    for seed in range(20):
        # A tournament as large as the pool always draws the best agent first.
        result = select_parents(
            pool, mode="complementary", rng=random.Random(seed), tournament_size=len(pool)
        )
        assert result.parents == ["a1", "a2"]
        assert result.details["partner_gain"] == 2
        control = result.control_partner
        assert control is not None and control != "a1"
        assert result.details["control_gain"] == coverage_gain(
            first, next(a for a in pool if a.id == control)
        )
    # Over many draws the control partner is spread over the pool, not fixed.
    controls = {
        select_parents(
            pool, mode="complementary", rng=random.Random(s), tournament_size=len(pool)
        ).control_partner
        for s in range(50)
    }
    assert len(controls) > 3


def test_tournament_prefers_the_higher_lower_bound() -> None:
    pool = [agent("a1", {0}, low=0.1), agent("a2", {0, 1}, low=0.5), agent("a3", {0, 1, 2}, low=0.3)]
    assert tournament(pool, 3, random.Random(0)).id == "a2"
    # With size 1 the draw is random: every agent can win.
    winners = {tournament(pool, 1, random.Random(s)).id for s in range(30)}
    assert winners == {"a1", "a2", "a3"}


def test_best_and_random_modes() -> None:
    pool = [agent("a1", {0}, low=0.1), agent("a2", {0, 1}, low=0.5), agent("a3", {0, 1, 2}, low=0.3)]
    assert select_parents(pool, mode="best", rng=random.Random(0)).parents == ["a2", "a3"]
    drawn = {tuple(select_parents(pool, mode="random", rng=random.Random(s)).parents) for s in range(30)}
    assert len(drawn) > 2


def test_inspirations_skip_agents_that_behave_the_same() -> None:
    first = agent("a1", {0, 1, 2, 3, 4}, low=0.5)
    partner = agent("a2", {5, 6}, low=0.1)
    clone = agent("a3", {0, 1, 2, 3, 4}, low=0.45)  # same correctness pattern as a1
    different = agent("a4", {7, 8}, low=0.05)
    filler = agent("a5", {0}, low=0.0)
    result = select_parents(
        [first, partner, clone, different, filler],
        mode="best",
        rng=random.Random(0),
        inspirations=2,
    )
    # "best" takes the clone as second parent (that is its weakness); the inspirations then add the best
    # agent that behaves differently and the one solving examples nobody shown solves.
    assert result.parents == ["a1", "a3"]
    assert result.inspirations == ["a2", "a4"]


def test_empty_and_single_pools() -> None:
    assert select_parents([], mode="complementary", rng=random.Random(0)).parents == []
    single = select_parents([agent("a1", {0})], mode="complementary", rng=random.Random(0))
    assert single.parents == ["a1"] and single.control_partner is None
