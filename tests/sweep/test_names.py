"""A grid's tasks and agents are checked before any cell is made: a misspelt name stops the sweep with
its own error and leaves nothing behind (it used to run the cells before it and leave one of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.errors import AgentCodeError, TaskError
from agentkit.sweep import SweepGrid, run_sweep


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"tasks": ["gen/arithmetic", "gsm9k"]}, TaskError, "unknown task 'gsm9k'"),
        ({"agents": ["cot", "no_such_agent"]}, AgentCodeError, "no_such_agent"),
    ],
)
async def test_a_misspelt_name_stops_the_sweep_before_any_cell(
    tmp_path: Path, changes: dict[str, list[str]], error: type[Exception], message: str
) -> None:
    grid = SweepGrid.model_validate(
        {
            "tasks": ["gen/arithmetic"],
            "models": ["openai/fake"],
            "agents": ["cot"],
            "api_base": "http://127.0.0.1:9/v1",
        }
        | changes
    )
    with pytest.raises(error, match=message):
        await run_sweep(grid, tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()


def test_names_are_checked_without_loading_so_each_cells_options_still_apply(tmp_path: Path) -> None:
    """A JSONL task whose fields the grid's search names (task_options) is not loaded with no options
    by the check (it was refused with "missing field 'input'")."""
    import json

    from agentkit.sweep._sweep import _check_names

    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    searches = [{"name": "short", "task_options": {"input_field": "question", "target_field": "answer"}}]
    _check_names(SweepGrid.model_validate({"tasks": [f"jsonl:{data}"], "searches": searches}))
    with pytest.raises(TaskError, match="jsonl task: no file at"):
        _check_names(
            SweepGrid.model_validate({"tasks": [f"jsonl:{tmp_path}/missing.jsonl"], "searches": searches})
        )
