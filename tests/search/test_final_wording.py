"""The closing sentence about ensembles says what happened: a tie at the shown precision is not called
"higher", and one ensemble is not "neither"."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    said = _ensemble_sentence([_note("vote", 0.8405), _note("router", 0.5)], 0.8405)
    assert said.endswith(
        "Neither was selected: their lower bounds are no higher than the selected agent's (0.84)."
    )


def test_a_bound_lower_only_past_the_shown_digits_is_no_higher_not_below() -> None:
    # 0.8399 and 0.8405 both read 0.84: "below the selected agent's (0.84)" would look wrong
    said = _ensemble_sentence([_note("vote", 0.8399)], 0.8405)
    assert said.endswith(
        "It was not selected: its lower bound is no higher than the selected agent's (0.84)."
    )


def test_below_and_one_ensemble() -> None:
    said = _ensemble_sentence([_note("vote", 0.31)], 0.84)
    assert said.endswith("It was not selected: its lower bound is below the selected agent's (0.84).")
    three = _ensemble_sentence([_note("vote", 0.3), _note("router", 0.2), _note("x", 0.1)], 0.84)
    assert three.endswith("None was selected: their lower bounds are below the selected agent's (0.84).")


def test_a_selected_ensemble_is_named() -> None:
    assert _ensemble_sentence([_note("vote", 0.9, selected=True)], 0.9).endswith("avote was selected.")


def test_an_ensembles_cost_counts_the_replies_it_took_from_the_cache(tmp_path: Path) -> None:
    """A vote over members scored before it gets their replies from the cache, free: its cost per
    question must not come out below its members' (it showed $0.0005 beside members at $0.0012 in all)."""
    from agentkit.archive import Archive
    from agentkit.evaluate._summary import summarize
    from agentkit.records import ExampleResult, LLMCallTrace
    from agentkit.search._final import ensemble_notes

    def result(i: int, cost: float, calls: list[bool]) -> ExampleResult:
        trace = [
            LLMCallTrace(
                prompt="", reply="", cached=c, cost_usd=0.0 if c else cost / max(1, calls.count(False))
            )
            for c in calls
        ]
        return ExampleResult(
            example_id=f"q{i}", answer="1", score=1.0, llm_calls=len(calls), cost_usd=cost, trace=trace
        )

    with Archive.create(tmp_path / "run", {"task": "t"}) as archive:
        members = []
        for name, cost in (("A", 0.001), ("B", 0.003)):
            agent = archive.add_agent(
                name, "def forward(self, taskInfo):\n    return 1\n", status="evaluated"
            )
            rows = [result(i, cost, [False]) for i in range(10)]
            archive.record_results(agent.id, "search", rows)
            archive.record_summary(agent.id, "search", summarize(rows))
            members.append(agent.id)
        vote = archive.add_agent(
            "Vote",
            "def forward(self, taskInfo):\n    return 1\n",
            parents=members,
            origin="ensemble",
            status="evaluated",
        )
        rows = [result(i, 0.0, [True, True]) for i in range(10)]  # both member replies from the cache
        archive.record_results(vote.id, "search", rows)
        archive.record_summary(vote.id, "search", summarize(rows))
        (note,) = ensemble_notes(archive, members[0])
    assert note.calls_per_question == 2.0
    assert note.cost_per_question == pytest.approx(0.004)  # 0.001 + 0.003, not 0


def test_a_tied_lower_bound_is_said_with_how_the_tie_was_broken(tmp_path: Path) -> None:
    from agentkit.archive import Archive
    from agentkit.evaluate._summary import summarize
    from agentkit.records import ExampleResult
    from agentkit.search._final import selection_summary

    with Archive.create(tmp_path / "run", {"task": "t"}) as archive:
        for name in ("Older", "Newer", "Worse"):
            agent = archive.add_agent(
                name, "def forward(self, taskInfo):\n    return 1\n", status="evaluated"
            )
            right = 5 if name == "Worse" else 7
            rows = [ExampleResult(example_id=f"q{i}", answer="1", score=float(i < right)) for i in range(10)]
            archive.record_results(agent.id, "search", rows)
            archive.record_summary(agent.id, "search", summarize(rows))
        reason = selection_summary(archive, top_k=2).reason
    assert reason.startswith("Selected a0001 'Older': the highest lower bound")
    assert "tied on it with a0002 (a tie goes to the higher mean, then to the older agent)" in reason
    assert "a0003 (" not in reason.split("The test split")[0]
