"""Every seed agent runs end to end in the sandbox against the fake OpenAI server and gets scored."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.evaluate import Session, evaluate_agent, resolve_agent, seed_names
from agentkit.tasks import load_task
from agentkit.testing import FakeOpenAIServer, model_config_for, requested_fields

pytestmark = pytest.mark.sandbox

_EXPR = re.compile(r"Compute the value of this expression: ([-\d\s()+*]+)")


def _right_model(request: dict[str, Any]) -> str:
    """A fake model that knows the answer and fills whatever fields it is asked for with it."""
    text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
    match = _EXPR.search(text)
    value = eval(match.group(1).strip(), {"__builtins__": {}}) if match else 0  # our own generated digits
    reply: dict[str, str] = {}
    for field in requested_fields(request) or ["answer"]:
        if "code" in field:
            reply[field] = f"print({value})"
        elif field == "correct":
            reply[field] = "True"
        elif "answer" in field or field in ("result", "final"):
            reply[field] = str(value)
        else:
            reply[field] = f"The expression evaluates to {value}."
    return json.dumps(reply)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_right_model) as srv:
        yield srv


@pytest.mark.parametrize("seed", seed_names())
async def test_seed_agent_runs_and_scores_against_the_fake_server(seed: str, server, tmp_path) -> None:
    task = load_task("gen/arithmetic")
    examples = task.examples[:4]
    spec = resolve_agent(seed)
    before = len(server.requests)
    async with Session.open(model_config_for(server), workers=2, cache_dir=tmp_path) as s:
        result = await evaluate_agent(
            spec.code, examples, task, client=s.client, model=s.model, runner=s.runner, agent_name=spec.name
        )
    errors = [(r.example_id, r.error) for r in result.results if r.error is not None]
    assert errors == []
    assert all(r.llm_calls >= 1 for r in result.results)
    assert len(server.requests) - before == result.summary.llm_calls
    # The model always knows the answer, so an agent that keeps it intact scores every example.
    assert result.summary.accuracy.mean == 1.0, [
        (r.answer, e.target) for r, e in zip(result.results, examples, strict=True)
    ]
