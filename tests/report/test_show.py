"""The table data of `agentkit show` and one agent's detail."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.archive import Archive
from agentkit.errors import ArchiveError
from agentkit.report import agent_detail, open_run, render_detail, render_table, run_table, selected_agent


def test_table_rows_sorted_by_search_lower_bound(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, ids = run
    with open_run(run_dir) as archive:
        table = run_table(archive)
    order = [r.id for r in table.agents]
    # Evaluated agents by lower bound, the failed one (no search score) last.
    assert order == [
        ids["Self-Refine Critic"],
        ids["Chain of Thought"],
        ids["evil"],
        ids["Direct"],
        ids["Broken Indexer"],
    ]
    assert table.selected == ids["Self-Refine Critic"]
    assert table.task == "gen/arithmetic"
    top = table.agents[0]
    assert top.selected and top.generation == 1 and top.parents == [ids["Chain of Thought"], ids["Direct"]]
    assert top.search is not None and top.search.n == 20 and top.search.mean == pytest.approx(0.9)
    assert top.search.low <= top.search.mean <= top.search.high
    assert top.test is not None and top.test.mean == pytest.approx(0.85)
    assert top.screen is not None and top.screen.n == 5
    assert top.cost_usd == pytest.approx(0.0003 * (20 + 5 + 20))  # search + screen + test; failures cost 0
    failed = table.agents[-1]
    assert failed.status == "failed" and failed.search is None and failed.cost_usd is None
    assert sum(r.selected for r in table.agents) == 1
    assert [r.test is not None for r in table.agents].count(True) == 2


def test_generation_sort_and_json_roundtrip(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, _ = run
    with open_run(run_dir) as archive:
        table = run_table(archive, sort="generation")
    assert [r.generation for r in table.agents] == [0, 0, 1, 1, 2]
    again = type(table).model_validate_json(table.model_dump_json())
    assert again == table


def test_selected_is_by_search_lower_bound_not_test(tmp_path: Path) -> None:
    from agentkit.evaluate import ExampleResult, summarize

    def res(pattern: str) -> list[ExampleResult]:
        return [ExampleResult(example_id=f"e{i}", answer="x", score=float(c)) for i, c in enumerate(pattern)]

    with Archive.create(tmp_path / "r", {"task": "t"}) as archive:
        steady = archive.add_agent("Steady", "def forward(self, taskInfo):\n    return 'a'\n")
        lucky = archive.add_agent("Lucky", "def forward(self, taskInfo):\n    return 'b'\n")
        # Lucky has the higher mean on few examples but the wider interval; Steady the higher lower bound.
        archive.record_summary(steady.id, "search", summarize(res("1" * 16 + "0" * 4)))
        archive.record_summary(lucky.id, "search", summarize(res("11110")))
        archive.record_summary(lucky.id, "test", summarize(res("1" * 20)))
        archive.record_summary(steady.id, "test", summarize(res("1" * 10 + "0" * 10)))
        best = selected_agent(archive)
    assert best is not None and best.name == "Steady"


def test_detail_by_id_and_name(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, ids = run
    with open_run(run_dir) as archive:
        by_name = agent_detail(archive, "Broken Indexer")
        by_id = agent_detail(archive, ids["Broken Indexer"])
        refine = agent_detail(archive, ids["Self-Refine Critic"])
        with pytest.raises(ArchiveError):
            agent_detail(archive, "No Such Agent")
    assert by_name.agent.id == by_id.agent.id == ids["Broken Indexer"]
    assert by_name.failure is not None
    assert by_name.failure.error_kinds == {"exception": 5}
    assert "IndexError" in by_name.failure.message
    assert by_name.failure.debug_rounds == 1
    assert [r.kind for r in by_name.reviews] == ["debug"]
    assert [r.outcome for r in by_name.reflections] == ["crashed"]
    assert refine.failure is None and refine.row.selected
    assert refine.children == [ids["evil"]]


def test_rich_rendering_keeps_markup_literal(run: tuple[Path, dict[str, str]]) -> None:
    from rich.console import Console

    run_dir, ids = run
    with open_run(run_dir) as archive:
        table = run_table(archive, sort="generation")
        detail = agent_detail(archive, ids["evil"])
    console = Console(width=200, record=True, color_system=None)
    console.print(render_table(table))
    console.print(render_detail(detail))
    text = console.export_text()
    assert "Self-Refine Critic ★" in text
    assert "<script>alert('name')</script>" in text  # printed as text, not eaten as markup
    assert "def forward(self, taskInfo):" in text
    assert "★ selected" in text


def test_terminal_control_sequences_in_model_text_are_shown_not_executed(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    hostile = "Clear\x1b[2J\x1b]0;pwned\x07 me"
    with Archive.create(tmp_path / "run", {"task": "gen/arithmetic"}) as archive:
        agent = archive.add_agent(
            hostile,
            f"def forward(self, taskInfo):\n    return '{hostile!s}'\n".replace("\x1b", "\\x1b").replace(
                "\x07", ""
            )
            + "# \x1b[31mred\n",
            thought=f"thinks {hostile}",
            origin="meta",
            status="failed",
            meta={"failure": f"boom {hostile}", "failure_kind": "static check"},
        )
    with open_run(tmp_path / "run") as archive:
        table = run_table(archive)
        detail = agent_detail(archive, agent.id)
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system="truecolor")
    console.print(render_table(table))
    console.print(render_detail(detail))
    printed = out.getvalue()
    # rich emits its own SGR styling; none of the agent's own sequences may get through.
    assert "\x1b[2J" not in printed and "\x1b]0;" not in printed and "\x07" not in printed
    assert "\\x1b[2J" in printed and "\\x1b]0;pwned\\x07" in printed


def test_failure_message_names_the_problem_not_just_its_header() -> None:
    from agentkit.report._data import first_line

    text = "The code failed the static checks:\n- SyntaxError: invalid syntax (line 1)\n- line 3: name 'x'"
    assert first_line(text) == "The code failed the static checks: SyntaxError: invalid syntax (line 1)"
    assert first_line("Traceback (most recent call last):\n  File x\nValueError: boom") == "ValueError: boom"
    assert first_line("plain message\nmore") == "plain message"


def test_an_agent_that_failed_every_example_is_shown_as_such(tmp_path: Path) -> None:
    """An agent that hung on every question scored 0 and read as a plain 'evaluated 0.000': its
    detail, its --json and the report's failed list now say it failed every example, and how."""
    import io

    from rich.console import Console

    from agentkit.records import AgentFailure, ExampleResult
    from agentkit.report import write_report

    timeout = AgentFailure(kind="timeout", message="AgentTimeout: wall time limit of 5 s exceeded")
    with Archive.create(tmp_path / "run", {"task": "gen/arithmetic"}) as archive:
        hangs = archive.add_agent("Hangs", "def forward(self, taskInfo):\n    while True: pass\n")
        archive.record_results(
            hangs.id,
            "search",
            [ExampleResult(example_id=f"e{i}", answer=None, score=0.0, error=timeout) for i in range(6)],
        )
        archive.set_status(hangs.id, "evaluated")
        fine = archive.add_agent("Fine", "def forward(self, taskInfo):\n    return '1'\n")
        half = [ExampleResult(example_id=f"e{i}", answer="1", score=float(i % 2)) for i in range(6)]
        archive.record_results(
            fine.id,
            "search",
            [*half[:5], ExampleResult(example_id="e5", answer=None, score=0.0, error=timeout)],
        )
        archive.set_status(fine.id, "evaluated")
    with open_run(tmp_path / "run") as archive:
        detail = agent_detail(archive, hangs.id)
        assert detail.failure is not None and detail.failure.error_kinds == {"timeout": 6}
        assert agent_detail(archive, fine.id).failure is None  # one failed example is part of a score
    out = io.StringIO()
    Console(file=out, width=200).print(render_detail(detail))
    assert "failed every example" in out.getvalue() and "timeout ×6: AgentTimeout" in out.getvalue()
    html = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "1 of 2 agents failed (as candidates, or on every example they ran)" in html
    assert "every example: timeout ×6" in html


def test_show_into_a_pipe_keeps_whole_ids_and_names(run: tuple[Path, dict[str, str]]) -> None:
    """Piped or redirected, `show` is not cut to 80 columns (rich's width without a terminal)."""
    import os
    import subprocess
    import sys

    run_dir, ids = run
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "show", str(run_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with Archive.open(run_dir) as archive:
        names = {agent.id: agent.name for agent in archive.agents()}
    assert set(ids.values()) <= set(names)
    for agent_id, name in names.items():
        row = next((line for line in done.stdout.splitlines() if line.split()[1:2] == [agent_id]), None)
        assert row is not None and name in row, (name, agent_id, done.stdout)
    # COLUMNS still rules when it is set
    narrow = subprocess.run(
        [sys.executable, "-m", "agentkit", "show", str(run_dir)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "60"},
        timeout=120,
    )
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
