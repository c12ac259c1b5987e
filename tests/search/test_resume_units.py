"""Resume and start-up behaviour that needs no sandbox: duplicates across a stop, settings given again on
--resume, starts that fail before anything exists, prompts that do not depend on finishing order, and
usage booked as each call finishes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from search_scripted import agent_code, proposal

from agentkit.archive import Archive
from agentkit.errors import ConfigError, SearchError, TaskError
from agentkit.evaluate import ExampleResult
from agentkit.evaluate._summary import summarize
from agentkit.llm import LLMClient
from agentkit.search import GenerationState, SearchConfig, SearchRun, load_search_task, run_search
from agentkit.search._checks import duplicate_of
from agentkit.search._run import _open_archive, model_configs
from agentkit.testing import FakeOpenAIServer

CONFIG = SearchConfig(
    task="gen/arithmetic",
    model="openai/fake-agent",
    meta_model="openai/fake-meta",
    api_base="http://127.0.0.1:1/v1",
    search_size=6,
    test_size=2,
    seeds=["cot"],
    cache=False,
)


def make_run(archive: Archive, config: SearchConfig = CONFIG, client: Any = None) -> SearchRun:
    task, split = load_search_task(config)
    agent_model, meta_model = model_configs(config)
    none: Any = None
    return SearchRun(
        config=config,
        archive=archive,
        client=client,
        runner=none,
        agent_model=agent_model,
        meta_model=meta_model,
        task=task,
        search_examples=list(split.search),
        load_test=list,
    )


def test_a_rejected_copy_does_not_make_its_original_a_duplicate(tmp_path: Path) -> None:
    code = agent_code("SAME")
    with Archive.create(tmp_path / "run", {"search": CONFIG.model_dump(mode="json")}) as archive:
        first = archive.add_agent("First", code, generation=1, origin="meta")
        # Its parallel twin was checked first and rejected; then the process stopped while `first` ran.
        twin = archive.add_agent("Twin", code, generation=1, origin="meta")
        archive.update_agent(twin.id, meta={"duplicate_of": first.id})
        archive.set_status(twin.id, "failed")
        assert duplicate_of(archive, archive.agent(first.id)) is None  # the resumed check lets it run
        later = archive.add_agent("Later", code, generation=2, origin="meta")
        found = duplicate_of(archive, later)
        assert found is not None and found.id == first.id


def test_resume_accepts_the_original_settings_given_again(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = SearchConfig.model_validate({**CONFIG.model_dump(), "reflect": {"monitor": False}})
    archive, _ = _open_archive(config, run_dir, None)
    archive.close()
    again = {
        "task": "gen/arithmetic",
        "model": "openai/fake-agent",
        "search_size": 6,
        "seeds": ["cot"],
        "cache": False,
        "extra": {"reflect": {"monitor": False}},
    }
    archive, resumed = _open_archive(None, run_dir, again)
    archive.close()
    assert resumed == config
    # Where the models are served may move (a restarted server on a new port).
    archive, resumed = _open_archive(None, run_dir, {**again, "api_base": "http://127.0.0.1:2/v1"})
    archive.close()
    assert resumed.api_base == "http://127.0.0.1:2/v1"
    # A real change is still refused, and names what it refuses.
    with pytest.raises(ConfigError, match="cannot change search_size"):
        _open_archive(None, run_dir, {**again, "search_size": 7})
    with pytest.raises(ConfigError, match="reflection settings"):
        _open_archive(None, run_dir, {"extra": {"reflect": {"monitor": True}}})


@pytest.mark.parametrize("problem", ["unknown-seed", "too-few-examples"])
async def test_a_start_that_cannot_work_leaves_no_run_directory(tmp_path: Path, problem: str) -> None:
    data = tmp_path / "five.jsonl"
    data.write_text(
        "".join(json.dumps({"input": f"{i} + {i}", "target": str(2 * i)}) + "\n" for i in range(5))
    )
    if problem == "unknown-seed":
        config = CONFIG.model_copy(update={"seeds": ["no-such-seed"]})
    else:
        config = CONFIG.model_copy(update={"task": f"jsonl:{data}", "search_size": 10, "test_size": 0})
    with pytest.raises((ConfigError, TaskError)):
        await run_search(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # so the corrected command can start it


def test_resuming_an_imported_adas_run_says_how_to_evaluate_its_agents(tmp_path: Path) -> None:
    from agentkit.report import import_adas

    source = tmp_path / "adas.json"
    code = "def forward(self, taskInfo):\n    return '1'\n"
    source.write_text(json.dumps([{"thought": "t", "name": "A", "code": code, "fitness": "?"}]))
    run_dir = tmp_path / "adas"
    import_adas(source, out=run_dir, task="gen/arithmetic")
    with pytest.raises(SearchError, match=r"agentkit eval --agent .*\.py --task gen/arithmetic"):
        _open_archive(None, run_dir, None)


def test_prompts_built_from_results_do_not_depend_on_the_order_they_finished(tmp_path: Path) -> None:
    texts = []
    for order in ("forward", "backward"):
        with Archive.create(tmp_path / order, {"search": CONFIG.model_dump(mode="json")}) as archive:
            run = make_run(archive)
            agent = archive.add_agent("Wrong", agent_code("WRONG"), generation=1, origin="meta")
            results = [ExampleResult(example_id=e.id, answer="0", score=0.0, trace=[]) for e in run.examples]
            if order == "backward":
                results.reverse()  # concurrency stores them in the order they finish
            archive.record_results(agent.id, "search", results)
            archive.record_summary(agent.id, "search", summarize(results))
            archive.set_status(agent.id, "evaluated")
            agent = archive.agent(agent.id)
            texts.append((run.candidates.debug_reason(agent), run.briefing.failures(agent)))
    assert texts[0] == texts[1]


async def test_each_meta_call_is_booked_in_the_archive_as_it_finishes(tmp_path: Path) -> None:
    with FakeOpenAIServer(lambda body: proposal("A", agent_code("AAA"))) as server:
        config = CONFIG.model_copy(update={"api_base": server.base_url})
        client = LLMClient(cache=False)
        try:
            with Archive.create(tmp_path / "run", {"search": config.model_dump(mode="json")}) as archive:
                run = make_run(archive, config, client)
                messages = [{"role": "user", "content": "Design an agent."}]
                with run.book.attached():
                    await run.meta.propose(messages, sample_index=0, fallback_name="x")
                    # Before anything of the proposal is stored: a process killed now keeps this spend.
                    assert archive.usage_by_role()["meta"].calls == 1
                    assert [(u.role, u.model) for u in archive.usage()] == [("meta", "openai/fake-meta")]
                await run.meta.propose(messages, sample_index=1, fallback_name="x")
                # The run's listener is gone from the client, which may be shared.
                assert archive.usage_by_role()["meta"].calls == 1
        finally:
            await client.aclose()


def test_a_generation_checkpoint_written_as_an_untyped_dict_still_loads() -> None:
    # Exactly what runs stored before the checkpoint was typed (the keys of `SearchRun._gen_state`).
    old = {
        "generation": 2,
        "bar": 0.5,
        "best": "a0001",
        "settings": {"meta_temperature": 0.95, "inspirations": 4, "screen_size": 10},
        "slots": [
            {
                "slot": 0,
                "parents": ["a0001", "a0002"],
                "inspirations": ["a0003"],
                "attempt": 1,
                "agent_id": "a0005",
                "prompt": [{"role": "user", "content": "Design an agent."}],
                "done": False,
            },
            {
                "slot": 1,
                "parents": ["a0002"],
                "inspirations": [],
                "attempt": 0,
                "agent_id": None,
                "prompt": None,
                "done": True,
            },
        ],
    }
    state = GenerationState.load(old, 2)
    assert state is not None
    assert state.settings.meta_temperature == 0.95 and state.bar == 0.5
    assert [s.agent_id for s in state.slots] == ["a0005", None]
    assert state.slots[0].sample_index(2) == 2000
    assert state.dump() == old  # written back in the same shape, so either version can resume it
    assert GenerationState.load(old, 3) is None  # another generation's leftover is not resumed
    assert GenerationState.load(None, 2) is None


def test_what_eval_run_spent_in_a_run_is_not_taken_from_the_searchs_budget(tmp_path: Path) -> None:
    from agentkit.archive import EVAL_USAGE_ROLE
    from agentkit.search._run import _spent

    with Archive.create(tmp_path / "run", {"search": CONFIG.model_dump(mode="json")}) as archive:
        archive.add_usage(
            1, "meta", "openai/fake-meta", calls=3, prompt_tokens=30, completion_tokens=3, cost_usd=0.3
        )
        archive.add_usage(1, EVAL_USAGE_ROLE, "openai/fake-agent", calls=40, prompt_tokens=400, cost_usd=4.0)
        assert _spent(archive) == {"calls": 3, "tokens": 33, "cost_usd": 0.3, "unpriced_calls": 0}
        assert archive.usage_by_role()[EVAL_USAGE_ROLE].calls == 40  # still in the run's totals
