"""Scenario 9: selection bias. How far the score a selection rule reports lies from the true accuracy of
the agent it selects, and how much true accuracy the choice gives away, in a world where every agent's
true accuracy is known.

The world: `Sizes.selection_agents` one-call agent designs, each with a keyword in its instruction
("approach d07") that `agentkit.testing.SimulatedModel` maps to a configured accuracy; that accuracy is
the agent's *true accuracy* (half the designs lie within 0.08 of the best, as in a real archive, the
rest spread down to 0.30). Every answer comes from `agentkit.evaluate.evaluate_agent` (agent code in
`TrustedRunner`, every model call through `agentkit.llm.LLMClient` over HTTP to a `FakeOpenAIServer` on
loopback, response cache off) and is scored by the task's numeric scorer; no outcome is drawn here.

Three rules, over `Sizes.selection_searches` seeded searches:

- agentkit: select the agent with the highest lower bound of the 95% interval (`score_interval`, Wilson
  for 0/1 scores) on the search split, ties by mean, then archive order; report its score on a sealed
  test split scored once;
- ADAS: score every agent on the test split and report the best test score (selection on the test);
- search mean: select by the search-split mean (same ties) and report that mean.

Bias is the mean over searches of (reported score - true accuracy of the selected agent); regret the
mean of (true best accuracy - true accuracy of the selected agent); each with a seeded percentile
bootstrap interval over the searches (`agentkit.tasks.bootstrap_ci`).

What is reused, to stay within a minute: every agent is evaluated once on a pool of
`Sizes.selection_pool` questions, and each search draws its search split and ADAS's test split (disjoint)
from that pool with its own seed, and shuffles the archive order (ties). Searches therefore share
questions, so the intervals of ADAS's bias and of the regrets treat correlated searches as independent
and are somewhat too narrow. agentkit's sealed test is not reused: each search's selected agent is scored
on fresh questions of its own, so agentkit's bias interval is not affected.

The server runs in this process (a daemon thread), not in a child like the timed scenarios: nothing here
is a timing, and the in-process server needs no world of its own in `_server`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.perf import _world
from benchmarks.perf._results import Figure, verdict
from benchmarks.perf._sizes import Sizes

if TYPE_CHECKING:
    from agentkit.evaluate import Session
    from agentkit.records import Interval
    from agentkit.tasks import Example, Task

BIAS_TARGET = 0.01
TITLES = {
    "9a": "selection bias: agentkit's rule (search lower bound, sealed test)",
    "9b": "selection bias: ADAS's rule (best test score)",
    "9c": "selection bias: select and report by search-split mean",
}
BEST_ACCURACY = 0.80
NEAR_TOP = 0.08
"""Half the designs lie within this much of the best."""
LOWEST_ACCURACY = 0.30
SANITY_Z = 3.9
"""Each agent's measured pool accuracy must have its true accuracy inside this Wilson interval
(99.99%); otherwise the keywords did not reach the model and the truth is not known."""
CONCURRENCY = 64
POOL_SEED = 9000
SEALED_SEED = 9100


def true_accuracies(n: int) -> list[float]:
    """The designs' true accuracies, best first: the first half (rounded up) evenly from the best down to
    `NEAR_TOP` below it, the rest evenly from just below that down to `LOWEST_ACCURACY`."""
    top = math.ceil(n / 2)
    rest = n - top
    high = [BEST_ACCURACY - NEAR_TOP * i / max(1, top - 1) for i in range(top)]
    start = BEST_ACCURACY - NEAR_TOP - 0.04
    low = [start - (start - LOWEST_ACCURACY) * i / max(1, rest - 1) for i in range(rest)]
    return [round(p, 4) for p in high + low]


def keyword(i: int) -> str:
    """The keyword of design `i`; none is a substring of another, nor of the runtime's prompt text."""
    return f"approach d{i:02d}"


def design_code(i: int) -> str:
    """The agent of design `i`: one model call whose instruction carries the design's keyword."""
    return _world.one_call_agent(f"Solve it with {keyword(i)}, then answer.", variant=i)


def _task(examples: list[Example]) -> Task:
    from agentkit.tasks import Task

    return Task(
        name="bench/selection-arithmetic",
        description="Integer arithmetic questions of the form 'What is A + B?' (also - and *).",
        answer_format=_world.ANSWER_FORMAT,
        examples=examples,
        scorer_name="numeric",
        source="generated",
    )


@dataclass
class Outcomes:
    """Per-question 0/1 scores of one evaluation, and how many examples ended in an agent error."""

    scores: list[float]
    errors: int


async def _evaluate(session: Session, code: str, examples: Sequence[Example], task: Task) -> Outcomes:
    from agentkit.evaluate import evaluate_agent

    result = await evaluate_agent(
        code,
        list(examples),
        task,
        client=session.client,
        model=session.model,
        runner=session.runner,
        concurrency=max(4, CONCURRENCY // 4),
        trace_chars=100,
    )
    by_id = {r.example_id: r for r in result.results}
    return Outcomes(
        scores=[by_id[e.id].score for e in examples],
        errors=sum(1 for r in result.results if r.error is not None),
    )


@dataclass
class Search:
    """One seeded search: who each rule selected and what it reported."""

    seed: int
    agentkit: int
    adas: int
    by_mean: int
    adas_reported: float
    by_mean_reported: float
    search_split: list[int]
    """Pool positions of this search's search split."""
    test_split: list[int]
    """Pool positions of ADAS's test split (disjoint from the search split)."""
    agentkit_reported: float = math.nan
    """Filled in once the selected agent was scored on this search's sealed test."""


def _pick(n: int, key: Callable[[int], tuple[float, ...]], order: list[int]) -> int:
    """The agent with the highest `key`; among equals the one earliest in the archive `order`."""
    position = {agent: pos for pos, agent in enumerate(order)}
    return max(range(n), key=lambda i: (*key(i), -position[i]))


def run_search(seed: int, pool: list[list[float]], search_size: int, test_size: int) -> Search:
    """Draw this search's splits from the pool, select by each rule (agentkit's sealed test comes later)."""
    from agentkit.tasks import score_interval

    rng = random.Random(f"agentkit-bench/selection/{seed}")
    n = len(pool)
    order = list(range(n))
    rng.shuffle(order)
    chosen = rng.sample(range(len(pool[0])), search_size + test_size)
    search_idx, test_idx = chosen[:search_size], chosen[search_size:]
    search = [score_interval([pool[i][q] for q in search_idx]) for i in range(n)]
    test = [math.fsum(pool[i][q] for q in test_idx) / test_size for i in range(n)]
    agentkit = _pick(n, lambda i: (search[i].low, search[i].mean), order)
    by_mean = _pick(n, lambda i: (search[i].mean,), order)
    adas = _pick(n, lambda i: (test[i],), order)
    return Search(
        seed=seed,
        agentkit=agentkit,
        adas=adas,
        by_mean=by_mean,
        adas_reported=test[adas],
        by_mean_reported=search[by_mean].mean,
        search_split=search_idx,
        test_split=test_idx,
    )


def _check_truth(pool: list[list[float]], truth: list[float]) -> list[dict[str, Any]]:
    """Each agent's measured pool accuracy next to its true one; raises when they disagree beyond chance."""
    from agentkit.tasks import wilson_interval

    rows, bad = [], []
    confidence = 1 - 2 * (1 - _normal_cdf(SANITY_Z))
    for i, (scores, p) in enumerate(zip(pool, truth, strict=True)):
        k = int(sum(scores))
        iv = wilson_interval(k, len(scores), confidence=confidence)
        rows.append({"agent": i, "true": p, "measured": round(k / len(scores), 4)})
        if not iv.low <= p <= iv.high:
            bad.append(f"design {i}: true {p:.2f}, measured {k}/{len(scores)}")
    if bad:
        raise RuntimeError(
            "the simulated model did not answer at the configured accuracies (did the keywords reach "
            "the prompt?): " + "; ".join(bad)
        )
    return rows


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _interval(values: Sequence[float]) -> Interval:
    from agentkit.tasks import bootstrap_ci

    return bootstrap_ci(values, seed=0)


def _signed(iv: Interval) -> str:
    return f"{iv.mean:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def _plain(iv: Interval) -> str:
    return f"{iv.mean:.3f} [{iv.low:.3f}, {iv.high:.3f}]"


def _rule(reported: list[float], selected: list[int], truth: list[float]) -> dict[str, Any]:
    best = max(truth)
    bias = _interval([r - truth[s] for r, s in zip(reported, selected, strict=True)])
    regret = _interval([best - truth[s] for s in selected])
    return {
        "bias": bias.model_dump(),
        "regret": regret.model_dump(),
        "searches": len(selected),
        "selected_true_best": sum(1 for s in selected if truth[s] == best),
        "_bias": bias,
        "_regret": regret,
    }


async def measure(sizes: Sizes) -> dict[str, Any]:
    """Evaluate every design on the pool, run the searches, score each search's pick on a fresh sealed
    test; returns the per-rule figures and everything behind them."""
    from agentkit.evaluate import Session
    from agentkit.testing import FakeOpenAIServer, SimulatedModel, model_config_for

    n, pool_size = sizes.selection_agents, sizes.selection_pool
    ns, nt, searches = sizes.selection_search_size, sizes.selection_test_size, sizes.selection_searches
    if ns + nt > pool_size:
        raise ValueError(f"pool of {pool_size} questions is smaller than search {ns} + test {nt}")
    truth = true_accuracies(n)
    model = SimulatedModel(
        {keyword(i): p for i, p in enumerate(truth)},
        base_accuracy=_world.BASE_ACCURACY,
        completion_tokens=_world.COMPLETION_TOKENS,
    )
    pool_examples = _world.examples(pool_size, seed=POOL_SEED, prefix="pool")
    task = _task(pool_examples)
    with FakeOpenAIServer(model) as server:
        config = model_config_for(
            server, max_concurrency=CONCURRENCY, timeout_s=60.0, max_attempts=2, max_tokens=256
        )
        async with Session.open(config, isolation="trusted", workers=CONCURRENCY, cache=False) as session:
            # Import litellm's price map and open connections before timing (another prompt, other questions).
            warm = _world.examples(4, seed=POOL_SEED - 1, prefix="warm")
            await _evaluate(session, _world.one_call_agent(), warm, task)
            server.reset()
            started = time.perf_counter()
            evaluated = await asyncio.gather(
                *(_evaluate(session, design_code(i), pool_examples, task) for i in range(n))
            )
            pool = [o.scores for o in evaluated]
            errors = sum(o.errors for o in evaluated)
            pool_s = time.perf_counter() - started
            runs = [run_search(seed, pool, ns, nt) for seed in range(searches)]
            # Each search's sealed test: fresh questions, scored once, for the agent agentkit selected.
            sealed = {
                r.seed: _world.examples(nt, seed=SEALED_SEED + r.seed, prefix=f"sealed{r.seed}") for r in runs
            }
            by_agent: dict[int, list[Search]] = {}
            for r in runs:
                by_agent.setdefault(r.agentkit, []).append(r)

            async def score_sealed(agent: int, picked: list[Search]) -> int:
                examples = [e for r in picked for e in sealed[r.seed]]
                got = await _evaluate(session, design_code(agent), examples, task)
                for j, r in enumerate(picked):
                    r.agentkit_reported = math.fsum(got.scores[j * nt : (j + 1) * nt]) / nt
                return got.errors

            errors += sum(await asyncio.gather(*(score_sealed(a, rs) for a, rs in by_agent.items())))
        requests = len(server.requests)
        responder_errors = server.responder_errors[:3]
    seconds = time.perf_counter() - started
    rows = _check_truth(pool, truth)
    return {
        "truth": truth,
        "agents": rows,
        "rules": {
            "agentkit": _rule([r.agentkit_reported for r in runs], [r.agentkit for r in runs], truth),
            "adas": _rule([r.adas_reported for r in runs], [r.adas for r in runs], truth),
            "by_mean": _rule([r.by_mean_reported for r in runs], [r.by_mean for r in runs], truth),
        },
        # agentkit's regret minus the search-mean rule's, per search (negative: agentkit chose better).
        "regret_difference": _interval([truth[r.by_mean] - truth[r.agentkit] for r in runs]),
        "same_pick_as_mean": sum(1 for r in runs if r.agentkit == r.by_mean),
        "per_search": [
            {
                "seed": r.seed,
                "agentkit": r.agentkit,
                "agentkit_reported": round(r.agentkit_reported, 4),
                "adas": r.adas,
                "adas_reported": round(r.adas_reported, 4),
                "by_mean": r.by_mean,
                "by_mean_reported": round(r.by_mean_reported, 4),
            }
            for r in runs
        ],
        "evaluations": n * pool_size + searches * nt,
        "model_requests": requests,
        "errors": errors,
        "responder_errors": responder_errors,
        "pool_seconds": round(pool_s, 2),
        "seconds": round(seconds, 2),
    }


def _public(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if not k.startswith("_")}


async def scenario_9(sizes: Sizes) -> list[Figure]:
    """Bias and regret of agentkit's, ADAS's and the search-mean selection rule over seeded searches."""
    m = await measure(sizes)
    rules = m["rules"]
    ak, adas, mean = rules["agentkit"], rules["adas"], rules["by_mean"]
    s = len(m["per_search"])
    n, ns, nt = sizes.selection_agents, sizes.selection_search_size, sizes.selection_test_size
    truth = m["truth"]
    # The truth holds only if every evaluation made its one model call and no agent failed.
    clean = m["errors"] == 0 and not m["responder_errors"] and m["model_requests"] == m["evaluations"]
    world = (
        f"{s} seeded searches; {n} one-call agent designs, true accuracies {truth[0]:.2f} to {truth[-1]:.2f} "
        f"({math.ceil(n / 2)} within {NEAR_TOP:.2f} of the best); search split {ns}, test split {nt}; "
        f"every agent evaluated once on a pool of {sizes.selection_pool} questions, each search draws "
        f"its search and ADAS test split from it (searches share questions: the ADAS and regret "
        f"intervals are somewhat too narrow); agentkit's sealed test is {nt} fresh questions per search; "
        f"{m['evaluations']} evaluations via evaluate_agent (trusted runner, fake server, cache off), "
        f"{m['model_requests']} model requests, {m['errors']} errors, {m['seconds']:.0f} s; "
        "intervals: 95% percentile bootstrap over searches"
    )
    diff = m["regret_difference"]
    figures = [
        Figure(
            scenario="9a",
            title=TITLES["9a"],
            value=round(ak["_bias"].mean, 4),
            shown=f"bias {_signed(ak['_bias'])}, regret {_plain(ak['_regret'])}, {s} searches",
            target=f"bias within ±{BIAS_TARGET:.2f} (mean over searches)",
            status=verdict(abs(ak["_bias"].mean) <= BIAS_TARGET and clean),
            notes=(
                "select the highest Wilson 95% lower bound on the search split, report one score on a "
                f"sealed test; picked the truly best design in {ak['selected_true_best']} of {s}; {world}"
            ),
            details={
                **_public(ak),
                "truth": truth,
                "agents": m["agents"],
                "per_search": m["per_search"],
                "evaluations": m["evaluations"],
                "model_requests": m["model_requests"],
                "errors": m["errors"],
                "responder_errors": m["responder_errors"],
                "pool_seconds": m["pool_seconds"],
                "seconds": m["seconds"],
            },
        ),
        Figure(
            scenario="9b",
            title=TITLES["9b"],
            value=round(adas["_bias"].mean, 4),
            shown=f"bias {_signed(adas['_bias'])}, regret {_plain(adas['_regret'])}, {s} searches",
            target="(reported)",
            status="info",
            notes=(
                f"every agent scored on the test split ({nt} questions), the best test score reported; "
                f"picked the truly best design in {adas['selected_true_best']} of {s}"
            ),
            details=_public(adas),
        ),
        Figure(
            scenario="9c",
            title=TITLES["9c"],
            value=round(mean["_regret"].mean, 4),
            shown=(
                f"bias {_signed(mean['_bias'])}, regret {_plain(mean['_regret'])}, {s} searches; "
                f"agentkit's regret minus this {_signed(diff)}"
            ),
            target="agentkit's regret lower than this rule's",
            status=verdict(ak["_regret"].mean < mean["_regret"].mean and clean),
            notes=(
                f"select the highest search-split mean ({ns} questions), report that mean; same pick as "
                f"agentkit's rule in {m['same_pick_as_mean']} of {s} searches"
                + (
                    " (every agent is scored on the same search split, and at a fixed number of "
                    "questions Wilson's lower bound rises with the number right, so both rules rank "
                    "alike)"
                    if m["same_pick_as_mean"] == s
                    else ""
                )
            ),
            details={**_public(mean), "regret_agentkit_minus_this": diff.model_dump()},
        ),
    ]
    return figures
