"""The selection-bias benchmark's world and rules (scenario 9), without a server: the truth it assumes,
how each rule picks, and the check that refuses a world whose model ignored the keywords."""

from __future__ import annotations

import itertools

import pytest

from benchmarks.perf import _selection


def test_true_accuracies_look_like_an_archive_with_many_near_the_top() -> None:
    truth = _selection.true_accuracies(20)
    assert len(truth) == 20
    assert truth[0] == pytest.approx(0.80) and truth[-1] == pytest.approx(0.30)
    assert all(a > b for a, b in itertools.pairwise(truth))
    assert sum(1 for p in truth if p >= truth[0] - _selection.NEAR_TOP - 1e-9) == 10


def test_no_keyword_is_inside_another() -> None:
    words = [_selection.keyword(i) for i in range(30)]
    assert not [(a, b) for a, b in itertools.permutations(words, 2) if a in b]
    assert all(_selection.keyword(i) in _selection.design_code(i) for i in range(30))


def _pool(rows: list[list[int]]) -> list[list[float]]:
    return [[float(x) for x in row] for row in rows]


def test_rules_pick_by_search_lower_bound_best_test_and_search_mean() -> None:
    # Agent 1 is right everywhere, agent 0 nowhere, agent 2 on every other question.
    pool = _pool([[0] * 40, [1] * 40, [i % 2 for i in range(40)]])
    run = _selection.run_search(3, pool, search_size=10, test_size=20)
    assert run.agentkit == run.by_mean == run.adas == 1
    assert run.adas_reported == 1.0 and run.by_mean_reported == 1.0


def test_adas_selects_on_the_test_split_and_agentkit_on_the_search_split() -> None:
    # Agent 0 is right on the first half of the pool only, agent 1 on the second half only: whichever
    # half the search split falls in decides agentkit's pick, the test split decides ADAS's.
    n = 60
    pool = _pool([[1 if q < n // 2 else 0 for q in range(n)], [1 if q >= n // 2 else 0 for q in range(n)]])
    picks = set()
    for seed in range(40):
        run = _selection.run_search(seed, pool, search_size=5, test_size=25)
        assert len(run.search_split) == 5 and len(run.test_split) == 25
        assert not set(run.search_split) & set(run.test_split)
        search = [sum(pool[i][q] for q in run.search_split) for i in range(2)]
        test = [sum(pool[i][q] for q in run.test_split) / 25 for i in range(2)]
        if search[0] != search[1]:
            assert run.agentkit == run.by_mean == search.index(max(search))
        assert run.adas_reported == max(test) == test[run.adas]
        picks.add((run.agentkit, run.adas))
    # Different seeds draw different splits, so each rule picks both agents across searches.
    assert {a for a, _ in picks} == {0, 1} and {b for _, b in picks} == {0, 1}


def test_ties_are_broken_by_the_archive_order_each_search_shuffles() -> None:
    pool = _pool([[1] * 30, [1] * 30, [0] * 30])
    picked = {_selection.run_search(seed, pool, search_size=10, test_size=10).agentkit for seed in range(30)}
    assert picked == {0, 1}


def test_a_world_whose_model_ignored_the_keywords_is_refused() -> None:
    truth = [0.9, 0.3]
    # Both agents answered at the model's base accuracy 0.5, as if the keyword never reached it.
    pool = _pool([[i % 2 for i in range(200)], [i % 2 for i in range(200)]])
    with pytest.raises(RuntimeError, match="did not answer at the configured accuracies"):
        _selection._check_truth(pool, truth)
    ok = _pool([[1] * 180 + [0] * 20, [1] * 60 + [0] * 140])
    rows = _selection._check_truth(ok, truth)
    assert [r["measured"] for r in rows] == [0.9, 0.3]
