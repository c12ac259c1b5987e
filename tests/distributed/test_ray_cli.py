"""`agentkit eval` and `bench` with ``--executor ray`` against the session's Ray cluster: the same table
as ``--executor local``; ``--help`` does not import Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.testing import FakeOpenAIServer

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(240)]


def _agentkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"AGENTKIT_CACHE_DIR": str(cwd / "cache")}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=200,
    )


def test_help_does_not_import_ray(tmp_path: Path) -> None:
    code = "import sys\nfrom agentkit.cli import main\nsys.argv=['agentkit','eval','--help']\n"
    code += "try:\n    main()\nexcept SystemExit:\n    pass\nprint('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
    assert "--executor" in out.stdout and "--ray-address" in out.stdout


def test_eval_on_ray_gives_the_local_scores(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    common = (
        "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "8", "--model", "openai/fake",
        "--api-base", server.base_url, "--concurrency", "2", "--json", "--no-cache",
    )  # fmt: skip
    local = _agentkit(*common, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    on_ray = _agentkit(*common, "--executor", "ray", "--ray-address", ray_cluster, cwd=tmp_path)
    assert on_ray.returncode == 0, on_ray.stderr
    a, b = json.loads(local.stdout), json.loads(on_ray.stdout)
    assert (a["executor"], b["executor"]) == ("local", "ray")
    assert [r["score"] for r in a["results"]] == [r["score"] for r in b["results"]]
    assert a["accuracy"] == b["accuracy"] and 0 < b["accuracy"] < 1


def test_bench_on_ray_with_a_budget_stops_at_the_limit(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = _agentkit(
        "bench", "--agents", "cot,cot_sc", "--task", "gen/arithmetic", "--limit", "4", "--model", "openai/fake",
        "--api-base", server.base_url, "--executor", "ray", "--ray-address", ray_cluster, "--budget-calls", "6",
        "--json", "--out", str(tmp_path / "bench"),
        cwd=tmp_path,
    )  # fmt: skip
    # The examples the budget refused are unscored, not wrong: exit 3, saying so.
    assert out.returncode == 3, out.stderr
    assert "the budget refused their model calls" in out.stderr
    payload = json.loads(out.stdout)
    assert payload["executor"] == "ray"
    assert len(server.requests) == 6
    assert sum(row["llm_calls"] for row in payload["agents"]) == 6
    scored = sum(row["n"] - row["unscored"] for row in payload["agents"])
    assert scored <= 6 and sum(row["unscored"] for row in payload["agents"]) >= 2


def _run_with_cot(run_dir: Path) -> None:
    from agentkit.archive import Archive
    from agentkit.evaluate import resolve_agent

    spec = resolve_agent("cot")
    with Archive.create(run_dir, {"task": "gen/arithmetic"}, lock=True) as archive:
        archive.add_agent(spec.name, spec.code, origin="seed")


def test_eval_run_on_ray_stores_the_local_scores_in_the_run(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    common = (
        "--limit", "6", "--model", "openai/fake", "--api-base", server.base_url, "--json", "--no-cache",
    )  # fmt: skip
    _run_with_cot(tmp_path / "local")
    _run_with_cot(tmp_path / "ray")
    local = _agentkit("eval", "--run", str(tmp_path / "local"), *common, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    on_ray = _agentkit(
        "eval", "--run", str(tmp_path / "ray"), *common, "--executor", "ray", "--ray-address", ray_cluster,
        cwd=tmp_path,
    )  # fmt: skip
    assert on_ray.returncode == 0, on_ray.stderr
    a, b = json.loads(local.stdout)["agents"], json.loads(on_ray.stdout)["agents"]
    assert [(r["n"], r["mean"]) for r in a] == [(r["n"], r["mean"]) for r in b]
    assert b[0]["n"] == 6 and 0 < b[0]["mean"] < 1

    from agentkit.archive import Archive

    with Archive.open(tmp_path / "ray") as archive:  # the driver wrote every result into the run
        (agent,) = archive.agents()
        assert len(archive.results(agent.id, "eval")) == 6


def test_bench_on_several_tasks_on_ray_gives_the_local_table(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    common = (
        "bench", "--agents", "cot,cot_sc", "--tasks", "gen/arithmetic,gen/boolean", "--limit", "6",
        "--model", "openai/fake", "--api-base", server.base_url, "--json", "--no-cache",
    )  # fmt: skip
    local = _agentkit(*common, "--out", str(tmp_path / "local"), cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    calls_local = len(server.requests)
    on_ray = _agentkit(
        *common,
        "--out",
        str(tmp_path / "ray"),
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster,
        cwd=tmp_path,
    )
    assert on_ray.returncode == 0, on_ray.stderr
    a, b = json.loads(local.stdout), json.loads(on_ray.stdout)
    assert (a["executor"], b["executor"]) == ("local", "ray")
    cells = [(r["task"], r["agent"], r["n"], r["score"], r["llm_calls"]) for r in a["rows"]]
    assert cells == [(r["task"], r["agent"], r["n"], r["score"], r["llm_calls"]) for r in b["rows"]]
    assert {c[0] for c in cells} == {"gen/arithmetic", "gen/boolean"} and len(cells) == 4
    assert len(server.requests) == 2 * calls_local  # the actors' calls reached the same server
    assert json.loads((tmp_path / "ray" / "results.json").read_text())["rows"] == b["rows"]


def test_an_outage_on_the_cluster_is_said_on_the_driver_and_the_eval_finishes(
    ray_cluster: str, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    import threading

    from agentkit.testing import Fault

    server.set_down(Fault.status(503))
    finished = threading.Event()

    def outage() -> None:
        # Down until both actors' breakers have had their failures (the actors take a few seconds to
        # start, so a fixed time would race them), then for one pause more.
        while len(server.requests) < 12 and not finished.wait(0.1):
            pass
        finished.wait(6.0)
        server.set_up()

    watcher = threading.Thread(target=outage, daemon=True)
    watcher.start()
    try:
        out = _agentkit(
            "eval", "--agent", "cot", "--task", "gen/arithmetic", "--limit", "4", "--model", "openai/fake",
            "--api-base", server.base_url, "--concurrency", "2", "--example-timeout", "120", "--json",
            "--no-cache", "--executor", "ray", "--ray-address", ray_cluster, "--ray-actors", "2",
            cwd=tmp_path,
        )  # fmt: skip
    finally:
        finished.set()
        watcher.join()
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert (payload["executor"], payload["unscored"], payload["error_rate"]) == ("ray", 0, 0.0)
    lines = [ln for ln in out.stderr.splitlines() if "model openai/fake" in ln]
    # Said once for the cluster (both actors paused), then once when it answered again everywhere.
    assert lines[0].startswith("model openai/fake not answering") and "pausing 4s" in lines[0], lines
    assert lines[-1] == "model openai/fake answers again; calls continue", lines
    assert sum("pausing 4s" in ln for ln in lines) == 1, lines
