"""A search defined entirely from Python: records, a callable scorer, `register_task` and
`agentkit.run_search`, against the fake server with a scripted meta agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from search_scripted import AgentWorld, ScriptedMeta, agent_code, proposal, responder

import agentkit
from agentkit.archive import Archive
from agentkit.tasks import Example, final_number, register_task, unregister_task
from agentkit.testing import FakeOpenAIServer

pytestmark = pytest.mark.sandbox

# Questions in the form the scripted world answers; gold values worked out here, not by a loader.
TRIPLES = list(zip(range(2, 22), range(3, 23), range(1, 21), strict=True))
RECORDS = [
    {
        "question": f"Compute the value of this expression: {a} + {b} * {c}",
        "value": a + b * c,
        "id": f"sum-{i}",
    }
    for i, (a, b, c) in enumerate(TRIPLES)
]
SCORED: list[str] = []


def same_number(answer: str, example: Example) -> float:
    """1 when the answer's final number is the gold value (kept as text in `target`), else 0."""
    SCORED.append(example.id)
    value = final_number(answer)
    return 1.0 if value is not None and value == int(example.target) else 0.0


@pytest.fixture
def server() -> Iterator[tuple[FakeOpenAIServer, ScriptedMeta]]:
    meta = ScriptedMeta(lambda index, body: proposal(f"Exact {index}", agent_code(f"EXA{index}")))
    world = AgentWorld({f"EXA{i}": (lambda q: True) for i in range(5)})
    with FakeOpenAIServer(responder(world, meta)) as srv:
        yield srv, meta


async def test_search_on_a_task_defined_in_python(
    tmp_path: Path, server: tuple[FakeOpenAIServer, ScriptedMeta]
) -> None:
    srv, meta = server
    task = agentkit.Task.from_records(
        RECORDS,
        scorer=same_number,
        name="sums",
        input_field="question",
        target_field="value",
        id_field="id",
        description="Evaluate small arithmetic expressions.",
        answer_format="Answer with the integer only.",
    )
    name = register_task(task)
    try:
        config = agentkit.SearchConfig(
            task=name,
            model="openai/fake-agent",
            meta_model="openai/fake-meta",
            api_base=srv.base_url,
            generations=2,
            search_size=12,
            test_size=6,
            screen_size=0,
            self_review=0,
            debug_attempts=0,
            seeds=["cot"],
            proposals="code",
            ensembles=False,
            sandbox={"isolation": "process", "workers": 2, "wall_time_s": 5.0},
            cache=False,
            top_k=1,
            model_timeout_s=10.0,
            progress=False,
            reflect={"reflection": False, "manual": False, "contrastive": False, "monitor": False},
        )
        outcome = await agentkit.run_search(config, tmp_path / "run")
    finally:
        unregister_task(name)
    assert outcome.status == "finished", outcome.reason
    assert meta.proposals == 2
    with Archive.open(tmp_path / "run") as archive:
        assert archive.config["search"]["task"] == "py/sums"  # the stored configuration stays plain data
        agents = {a.name: a for a in archive.agents(origin="meta")}
        assert set(agents) == {"Exact 0", "Exact 1"}
        for agent in agents.values():
            assert agent.search_summary is not None and agent.search_summary.accuracy.mean == 1.0
            assert agent.search_summary.n == 12
    assert outcome.selected is not None and outcome.selected.name.startswith("Exact")
    # Our scorer did the scoring: search examples of every agent, plus the sealed test of the top one.
    assert set(SCORED) <= {r["id"] for r in RECORDS} and len(SCORED) >= 3 * 12 + 6
