"""`agentkit eval` and `agentkit bench` as a user runs them, against the fake server over HTTP."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox


def _agentkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"AGENTKIT_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


@functools.cache
def _auto_level() -> str:
    """The isolation level a sandbox with isolation "auto" gets on this machine."""
    from agentkit.sandbox import Sandbox, SandboxConfig

    async def probe() -> str:
        async with Sandbox(SandboxConfig(isolation="auto", workers=1)) as sandbox:
            return sandbox.isolation_level

    return asyncio.run(probe())


def test_eval_prints_json_with_per_example_records(arithmetic_server, tmp_path: Path) -> None:
    out = _agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "6", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["n"] == 6 and payload["accuracy"] == 1.0
    assert payload["llm_calls"] == 6 and len(payload["results"]) == 6
    assert payload["isolation"] == _auto_level()  # the sandbox, at the strongest level this machine has
    assert all(r["score"] == 1.0 and r["error"] is None for r in payload["results"])


def test_bench_compares_agents_and_saves_json_and_csv(arithmetic_server, tmp_path: Path) -> None:
    out_dir = tmp_path / "bench"
    out = _agentkit(
        "bench", "--task", "gen/arithmetic", "--agents", "cot,cot_sc,step_back", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "5", "--out", str(out_dir), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    saved = json.loads((out_dir / "results.json").read_text())
    names = [row["agent"] for row in saved["agents"]]
    assert len(names) == 3 and saved["best"] in names
    calls = {row["agent"]: row["llm_calls"] for row in saved["agents"]}
    assert sorted(calls.values()) == sorted([5, 25, 10])  # 1, 5 and 2 calls per example
    for row in saved["agents"]:
        if row["agent"] != saved["best"]:
            assert {"vs_best_diff", "vs_best_p"} <= row.keys()
    with (out_dir / "results.csv").open() as f:
        assert [r["agent"] for r in csv.DictReader(f)] == names


def test_eval_with_an_unknown_agent_says_what_exists(tmp_path: Path) -> None:
    out = _agentkit("eval", "--agent", "nope", "--task", "gen/arithmetic", cwd=tmp_path)
    assert out.returncode == 2
    assert "no agent named 'nope'" in out.stderr and "cot" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "--agent", "cot", "--limit", "0"], "--limit"),
        # A negative limit used to slice from the end: "-3" evaluated all but the last three examples.
        (["eval", "--agent", "cot", "--limit", "-3"], "--limit"),
        (["bench", "--agents", ","], "--agents names no agent"),
        (["bench", "--agents", "cot", "--concurrency", "0"], "--concurrency"),
    ],
)
def test_bad_numbers_and_empty_agent_lists_are_one_clear_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = _agentkit(*args, "--task", "gen/arithmetic", "--model", "openai/never-called", cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "archives").exists()  # nothing ran, nothing half-written


def test_jsonl_field_names_and_scorer_are_task_options(arithmetic_server, tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    rows = [
        {"question": "Compute the value of this expression: 2 * (3 + 4)", "answer": 14},
        {"question": "Compute the value of this expression: 10 - 4", "answer": 6},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = _agentkit(
        "eval", "--agent", "cot", "--task", f"jsonl:{data}", "--opt", "input_field=question",
        "--opt", "target_field=answer", "--opt", "scorer=numeric", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--isolation", "trusted", "--limit", "10", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["n"] == 2 and payload["accuracy"] == 1.0


def test_bench_rows_stay_distinct_when_agents_share_a_name(arithmetic_server, tmp_path: Path) -> None:
    from agentkit._resources import seed_dir

    copy = tmp_path / "my_cot.py"
    copy.write_text((seed_dir() / "cot.py").read_text())  # same "name: Chain-of-Thought"
    out_dir = tmp_path / "bench"
    out = _agentkit(
        "bench", "--task", "gen/arithmetic", "--agents", f"cot,{copy}", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--isolation", "trusted", "--limit", "3",
        "--out", str(out_dir), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    saved = json.loads((out_dir / "results.json").read_text())
    names = [row["agent"] for row in saved["agents"]]
    assert len(set(names)) == 2 and saved["best"] in names
    with (out_dir / "results.csv").open() as f:
        assert [r["agent"] for r in csv.DictReader(f)] == names


def test_doctor_reports_the_isolation_level_a_run_would_get(tmp_path: Path) -> None:
    out = _agentkit("doctor", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if "sandbox" in line)
    _, check, status, detail, _ = row.split("│")
    assert (check.strip(), status.strip()) == ("sandbox", "ok")
    assert detail.strip().startswith(f"{_auto_level()}: agent code runs in ")


@pytest.mark.parametrize(("limit", "below"), [(20, 0.90), (2, 0.40)])
def test_a_perfect_score_on_few_questions_keeps_an_honest_lower_bound(
    arithmetic_server, tmp_path: Path, limit: int, below: float
) -> None:
    # The percentile bootstrap reported 20/20 and 2/2 alike as [1.00, 1.00]; Wilson's interval does not.
    out = _agentkit(
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", str(limit), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["n"] == limit and payload["accuracy"] == 1.0 and payload["ci_high"] == 1.0
    assert payload["ci_low"] < below


def test_eval_exits_4_when_the_agent_fails_every_example(arithmetic_server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def forward(self, taskInfo):\n    raise ValueError('boom from the agent')\n")
    flaky = tmp_path / "flaky.py"  # fails only the questions that mention a 3
    flaky.write_text(
        "def forward(self, taskInfo):\n"
        "    if '3' in str(taskInfo.content):\n"
        "        raise ValueError('no threes')\n"
        "    return LLMAgentBase(['answer'], 'A')([taskInfo], 'Answer.')[0].content\n"
    )
    common = ["--task", "gen/arithmetic", "--model", "openai/fake", "--api-base", arithmetic_server.base_url]
    out = _agentkit("eval", "--agent", str(broken), *common, "--limit", "4", cwd=tmp_path)
    assert out.returncode == 4, out.stderr
    assert "error: the agent failed all 4 example(s) (first: " in out.stderr
    assert "ValueError: boom from the agent" in out.stderr
    assert "errors" in out.stdout  # the table is still shown
    as_json = _agentkit("eval", "--agent", str(broken), *common, "--limit", "4", "--json", cwd=tmp_path)
    assert as_json.returncode == 4 and json.loads(as_json.stdout)["error_rate"] == 1.0
    partly = _agentkit("eval", "--agent", str(flaky), *common, "--limit", "8", "--json", cwd=tmp_path)
    results = json.loads(partly.stdout)["results"]
    assert 0 < sum(r["error"] is not None for r in results) < 8, results  # some failed, not all
    assert partly.returncode == 0, partly.stderr


def test_brackets_in_names_and_help_are_printed_as_they_are(arithmetic_server, tmp_path: Path) -> None:
    # rich markup read "[/step]" in an agent's name as a closing tag (MarkupError: the table was lost)
    # and "agentkit[ray]" in a help text as a tag (printed "agentkit").
    named = tmp_path / "verify.py"
    named.write_text(
        '"""name: Verify [/step] then [bold]answer\n\nChecks its answer."""\n\n\n'
        "def forward(self, taskInfo):\n"
        "    return LLMAgentBase(['answer'], 'A')([taskInfo], 'Answer.')[0].content\n"
    )
    out = _agentkit(
        "bench", "--task", "gen/arithmetic", "--agents", f"cot,{named}", "--model", "openai/fake",
        "--api-base", arithmetic_server.base_url, "--limit", "3", "--out", str(tmp_path / "b"),
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "[/step]" in out.stdout and "[bold]" in out.stdout  # in the table (wrapped to its width)
    saved = json.loads((tmp_path / "b" / "results.json").read_text())
    assert "Verify [/step] then [bold]answer" in [row["agent"] for row in saved["agents"]]
    help_text = _agentkit("eval", "--help", cwd=tmp_path).stdout
    assert "'agentkit[ray]'" in " ".join(help_text.split())
