"""The closing sentence about ensembles says what happened: a tie at the shown precision is not called
"higher", and one ensemble is not "neither"."""

from __future__ import annotations

from agentkit.search._final import EnsembleNote, _ensemble_sentence


def _note(kind: str, low: float, *, selected: bool = False) -> EnsembleNote:
    return EnsembleNote(
        id=f"a{kind}",
        kind=kind,
        members=["a0001", "a0002"],
        search_mean=low + 0.1,
        search_low=low,
        calls_per_question=2.0,
        cost_per_question=None,
        selected=selected,
    )


def test_a_tie_is_not_called_higher() -> None:
    said = _ensemble_sentence([_note("vote", 0.841), _note("router", 0.5)], 0.8405)
    assert said.endswith(
        "Neither was selected: their lower bounds are no higher than the selected agent's (0.84)."
    )


def test_below_and_one_ensemble() -> None:
    said = _ensemble_sentence([_note("vote", 0.31)], 0.84)
    assert said.endswith("It was not selected: its lower bound is below the selected agent's (0.84).")
    three = _ensemble_sentence([_note("vote", 0.3), _note("router", 0.2), _note("x", 0.1)], 0.84)
    assert three.endswith("None was selected: their lower bounds are below the selected agent's (0.84).")


def test_a_selected_ensemble_is_named() -> None:
    assert _ensemble_sentence([_note("vote", 0.9, selected=True)], 0.9).endswith("avote was selected.")
