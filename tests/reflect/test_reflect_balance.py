"""The monitor's balance score feeds its exploration decision (rule 2 of `agentkit.reflect._monitor`)."""

from __future__ import annotations

from agentkit.reflect import Decision, MonitorSnapshot, ReflectConfig, decide


def _snap(generation: int, exploration: float, exploitation: float, coverage: float = 0.5) -> MonitorSnapshot:
    balance = min(exploration / 0.5, 1.0) * exploitation
    return MonitorSnapshot(
        generation=generation,
        agents=6,
        candidates=4,
        coverage=coverage,
        fully_scored=6,
        distinct_behaviours=6,
        behaviour_diversity=1.0,  # diversity never falls here: the coverage rule stays out of it
        novelty=0.3,
        beat_parent_share=exploitation,
        screen_correlation=None,
        exploration=exploration,
        exploitation=exploitation,
        balance=balance,
    )


def _decide(history: list[MonitorSnapshot], level: int = 0) -> Decision:
    return decide(
        history, previous=Decision(level, 10), base_screen_size=10, n_examples=50, config=ReflectConfig()
    )


def test_low_balance_from_repeated_behaviour_raises_exploration() -> None:
    # Half the candidates beat their parents, none with new behaviour: balance 0.
    up = _decide([_snap(1, 0.0, 0.5), _snap(2, 0.0, 0.5)])
    assert up.level == 1 and "repeat known behaviour" in up.notes[0] and "balance 0.00 < 0.20" in up.notes[0]
    # It keeps rising while the balance stays low, up to the highest level.
    assert _decide([_snap(1, 0.0, 0.5), _snap(2, 0.0, 0.5)], level=3).level == 3


def test_low_balance_from_few_improvements_lowers_a_raised_level() -> None:
    # What beats the parent is new, but almost nothing does: exploration gone too far.
    down = _decide([_snap(1, 0.1, 0.1), _snap(2, 0.1, 0.1)], level=2)
    assert down.level == 1 and "few candidates beat their parents" in down.notes[0]
    # At level 0 there is nothing to lower.
    assert _decide([_snap(1, 0.1, 0.1), _snap(2, 0.1, 0.1)]).level == 0


def test_a_good_balance_keeps_the_settings() -> None:
    steady = _decide([_snap(1, 0.3, 0.5), _snap(2, 0.3, 0.5)], level=1)
    assert steady.level == 1 and steady.notes == []


def test_the_balance_is_averaged_over_the_window() -> None:
    # One bad generation after a good one: mean balance (0.6 + 0) / 2 = 0.3 >= 0.2, no change.
    assert _decide([_snap(1, 0.5, 0.6), _snap(2, 0.0, 0.5)]).notes == []
    # Only the last `flat_window` (2) generations count: a good one before them does not.
    assert _decide([_snap(1, 0.5, 0.6), _snap(2, 0.0, 0.5), _snap(3, 0.0, 0.5)]).level == 1
