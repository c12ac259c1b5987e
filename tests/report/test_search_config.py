"""show, export and report on a run configured the way `agentkit search` stores it: the settings nested
under "search", beside kind, versions and git revision."""

from __future__ import annotations

from pathlib import Path

from agentkit.archive import Archive
from agentkit.evaluate import ExampleResult, read_agent_file, summarize
from agentkit.report import (
    agent_detail,
    build_report,
    export_agent,
    open_run,
    render_detail,
    render_table,
    run_settings,
    run_table,
)

CODE = "def forward(self, taskInfo):\n    return taskInfo.content\n"

SEARCH_CONFIG = {
    "kind": "search",
    "search": {
        "task": "bbh/navigate",
        "model": "openai/agent-model",
        "meta_model": "openai/meta-model",
        "search_size": 4,
        "screen_size": 2,
    },
    "versions": {"agentkit": "0.1.0"},
    "git_revision": "abc123",
}


def _results(pattern: str) -> list[ExampleResult]:
    return [ExampleResult(example_id=f"q{i}", answer="x", score=float(c)) for i, c in enumerate(pattern)]


def _build(run_dir: Path) -> dict[str, str]:
    with Archive.create(run_dir, SEARCH_CONFIG) as archive:
        good = archive.add_agent("Good", CODE, thought="Echo.", origin="seed")
        screened = archive.add_agent("Screened", CODE + "# v2\n", generation=1, parents=[good.id])
        twin = archive.add_agent(
            "Twin",
            CODE + "# v3\n",
            generation=1,
            meta={
                "failure": f"duplicate of {good.id} ('Good'): the same code up to layout and comments",
                "failure_kind": f"duplicate of {good.id}",
            },
        )
        with archive.transaction():
            archive.record_summary(good.id, "search", summarize(_results("1101")))
            archive.set_status(good.id, "evaluated")
            archive.record_summary(screened.id, "search", summarize(_results("00")))
            archive.set_status(screened.id, "screened")
            archive.set_status(twin.id, "failed")
    return {"good": good.id, "screened": screened.id, "twin": twin.id}


def _text(renderable: object) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_run_settings_flattens_the_search_config() -> None:
    flat = run_settings(SEARCH_CONFIG)
    assert flat["task"] == "bbh/navigate" and flat["model"] == "openai/agent-model"
    assert flat["git_revision"] == "abc123" and "search" not in flat
    assert run_settings({"task": "t"}) == {"task": "t"}  # imports store it flat


def test_show_names_the_task_and_says_what_screened_scores_cover(tmp_path: Path) -> None:
    _build(tmp_path / "run")
    with open_run(tmp_path / "run") as archive:
        table = run_table(archive)
    assert table.task == "bbh/navigate"
    text = " ".join(_text(render_table(table)).split())
    assert "task bbh/navigate" in text
    assert "search split: 4 examples" in text and "search split: 2, 4" not in text
    assert "screened: stopped after the first 2" in text


def test_export_records_the_task_and_models_of_a_search_run(tmp_path: Path) -> None:
    _build(tmp_path / "run")
    result = export_agent(tmp_path / "run", out=tmp_path / "my_agent.py")
    text = result.path.read_text()
    assert "task: bbh/navigate" in text and "task: unknown" not in text
    assert "agent model: openai/agent-model" in text and "meta model: openai/meta-model" in text
    # The usage example borrows the task's answer format and names the model the scores were measured with.
    assert "model='openai/agent-model', task='bbh/navigate'" in text
    assert read_agent_file(result.path).name == "Good"


def test_report_header_and_config_show_the_search_settings(tmp_path: Path) -> None:
    _build(tmp_path / "run")
    with open_run(tmp_path / "run") as archive:
        html = build_report(archive)
    assert "task bbh/navigate" in html and "agent model openai/agent-model" in html
    summary = html.split("Full configuration")[0]
    assert "<dt>search_size</dt><dd>4</dd><dt>screen_size</dt><dd>2</dd>" in summary


def test_a_duplicate_says_what_it_duplicates_not_unknown(tmp_path: Path) -> None:
    ids = _build(tmp_path / "run")
    with open_run(tmp_path / "run") as archive:
        detail = agent_detail(archive, ids["twin"])
    assert detail.failure is not None
    assert detail.failure.error_kinds == {f"duplicate of {ids['good']}": 0}
    text = " ".join(_text(render_detail(detail)).split())
    assert "unknown" not in text
    assert f"failed duplicate of {ids['good']} ('Good')" in text
