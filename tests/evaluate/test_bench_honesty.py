"""What `agentkit bench` and `agentkit eval` report when a comparison is not what it seems: a budget that
ran out (its examples were scored as wrong answers), an agent that failed every example (a 0% row and
exit 0), p-values against a best picked from the same examples (no correction), replies from the cache
(unlabelled), and results that could not be checked afterwards (one summary row per agent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import run_agentkit

from agentkit.evaluate._bridge import ExampleCalls
from agentkit.records import AgentFailure, ExampleResult
from agentkit.tasks import holm_adjusted
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox

BROKEN = 'def forward(self, taskInfo):\n    raise RuntimeError("boom")\n'
# Asks twice and keeps going when the second call is refused: a swallowed refusal.
SWALLOWS = """
def forward(self, taskInfo):
    agent = LLMAgentBase(["answer"], "A")
    first = agent([taskInfo], "Answer.")[0].content
    try:
        return agent([taskInfo], "Check it.")[0].content
    except LLMCallError:
        return first
"""


def _bench(server: FakeOpenAIServer, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    done = run_agentkit(
        "bench", "--task", "gen/arithmetic", "--model", "openai/fake", "--api-base", server.base_url,
        "--isolation", "process", *args,
        cwd=tmp_path,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_examples_the_budget_refused_are_unscored_not_wrong(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    done = run_agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--isolation", "process", "--limit", "10",
        "--concurrency", "1", "--budget-calls", "4", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    payload = json.loads(done.stdout)
    refused = [r for r in payload["results"] if r["error"] and r["error"]["kind"] == "budget"]
    assert len(refused) == 6 and all(r["unscored"] for r in refused)
    # The four the budget allowed were answered right: the score is theirs, not 4 right of 10.
    assert payload["accuracy"] == 1.0 and payload["unscored"] == 6 and payload["error_rate"] == 0.0
    assert "6 of 10 example(s) left unscored: the budget refused their model calls" in done.stderr
    assert "Give a larger budget" in done.stderr and "provider" not in done.stderr


def test_a_refused_call_the_agent_swallowed_leaves_the_example_unscored() -> None:
    calls = ExampleCalls(client=None, model=None)  # type: ignore[arg-type]
    calls.budget_error = "BudgetExceeded: the call limit of 4 is reached"
    answer, error = calls.settle("7", None)
    assert answer is None and error is not None and error.kind == "budget"
    result = ExampleResult(example_id="x", answer=answer, score=0.0, error=error)
    assert result.unscored
    # A "budget" failure with no refused call is the agent's own doing.
    _, forged = ExampleCalls(client=None, model=None).settle(  # type: ignore[arg-type]
        None, AgentFailure(kind="budget", message="made up")
    )
    assert forged is not None and forged.kind == "exception"


def test_bench_with_a_budget_that_runs_out_exits_3_and_scores_only_what_ran(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    agent = tmp_path / "swallows.py"
    agent.write_text(SWALLOWS)
    code, out, err = _bench(
        arithmetic_server, tmp_path, "--agents", f"cot,{agent}", "--limit", "6", "--concurrency", "1",
        "--budget-calls", "9", "--json",
    )  # fmt: skip
    assert code == 3, err[-2000:]
    rows = {row["agent"]: row for row in json.loads(out)["agents"]}
    assert all(row["accuracy"] == 1.0 for row in rows.values()), rows
    assert sum(row["unscored"] for row in rows.values()) > 0
    assert "the budget refused their model calls" in err


def test_an_agent_that_fails_every_example_makes_bench_exit_4_naming_it(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(BROKEN)
    code, out, err = _bench(arithmetic_server, tmp_path, "--agents", f"cot,{broken}", "--limit", "3")
    assert code == 4, err[-2000:]
    assert "Chain-of-Thought" in out  # the table is still shown
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: 1 agent(s) failed every example they were scored on: broken")
    assert "exception: RuntimeError: boom" in last


def test_bench_p_values_are_holm_adjusted_and_the_saved_results_can_be_checked(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "def forward(self, taskInfo):\n"
        '    agent = LLMAgentBase(["answer"], "W")\n'
        '    return agent([taskInfo], "WRONG on purpose.")[0].content\n'
    )
    out_dir = tmp_path / "out"
    code, out, err = _bench(
        arithmetic_server, tmp_path, "--agents", f"cot,step_back,{wrong}", "--limit", "8",
        "--opt", "seed=3", "--seed", "5", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err[-2000:]
    assert "p*: McNemar's exact test" in out and "Holm-adjusted over every pair of agents" in out
    saved = json.loads((out_dir / "results.json").read_text())
    assert saved["task_options"] == {"seed": 3} and saved["seed"] == 5 and saved["limit"] == 8
    assert saved["agentkit_version"] and "Holm" in saved["p_values"]
    wrong_row = next(r for r in saved["agents"] if r["agent"] == "wrong")
    # 8 of 8 against 0 of 8 on the same examples: McNemar gives 2/2^8; three pairs of agents, so Holm
    # multiplies the smallest p-value by 3.
    assert wrong_row["vs_best_p_unadjusted"] == pytest.approx(2 / 2**8)
    assert wrong_row["vs_best_p"] == pytest.approx(3 * 2 / 2**8)
    assert wrong_row["vs_best_pairs"] == 8 and wrong_row["vs_best_diff"] == -1.0
    # Every example's score is saved, so the comparison can be redone from the file.
    scores = saved["examples"]
    assert [x["score"] for x in scores["wrong"]] == [0.0] * 8
    assert [x["id"] for x in scores["wrong"]] == [x["id"] for x in scores[saved["best"]]]
    # A rerun comes from the cache, and says so.
    code, again, err = _bench(
        arithmetic_server, tmp_path, "--agents", f"cot,step_back,{wrong}", "--limit", "8",
        "--opt", "seed=3", "--seed", "5", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err[-2000:]
    calls = sum(r["llm_calls"] for r in saved["agents"])
    assert f"{calls} of {calls} model calls came from the cache (not billed)" in again


def test_holm_adjustment() -> None:
    assert holm_adjusted([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjusted([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm_adjusted([0.04, 0.03]) == pytest.approx([0.06, 0.06])  # never below an earlier step
    assert holm_adjusted([]) == []


def test_transfer_table_shows_a_task_nothing_was_scored_on_as_unscored(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """The budget runs out during the first task: the second has no score at all, which the table and
    the files said as 0.0 of n examples."""
    done = run_agentkit(
        "bench", "--tasks", "gen/arithmetic,gen/boolean", "--agents", "cot,cot_sc", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--isolation", "process", "--limit", "4",
        "--concurrency", "1", "--budget-calls", "8", "--out", str(tmp_path / "t"),
        cwd=tmp_path,
    )  # fmt: skip
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 3, err[-2000:]
    assert "unscored (4)" in out
    rows = json.loads((tmp_path / "t" / "results.json").read_text())["rows"]
    boolean = [r for r in rows if r["task"] == "gen/boolean"]
    assert [(r["score"], r["unscored"], r["n"]) for r in boolean] == [(None, 4, 4), (None, 4, 4)]
    assert "the model provider failed them, or the budget refused their calls" in err
    assert "with a larger budget if it ran out: answers already received come from the cache." in err


def test_an_agent_with_nothing_scored_is_neither_0_percent_nor_best(
    arithmetic_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """With one budget shared by agents running side by side, one agent can get no example scored: its
    row read 0.0% and its comparison cell "best"."""
    out_dir = tmp_path / "o"
    code, out, err = _bench(
        arithmetic_server, tmp_path, "--agents", "cot,cot_sc", "--limit", "4", "--concurrency", "1",
        "--budget-calls", "5", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 3, err[-2000:]
    saved = json.loads((out_dir / "results.json").read_text())
    rows = {row["agent"]: row for row in saved["agents"]}
    empty = [name for name, row in rows.items() if row["unscored"] == row["n"]]
    assert empty, rows  # the budget ran out before one of them had a whole example
    for name in empty:
        assert rows[name]["accuracy"] is None and name != saved["best"]
    assert f"unscored ({rows[empty[0]]['n']})" in out and "no example scored for both" in out
    assert saved["budget"]["max_calls"] == 5
