"""A whole scripted search (the real search loop over the fake HTTP server) with reflection, the manual
and the monitor on: the manual it produces cites real evidence rows, and the meta agent is shown it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from reflect_helpers import evidence_problems, is_builder, is_reflection, reflection_reply, user_text

import agentkit
from agentkit.archive import Archive
from agentkit.reflect import compile_manual, monitor_history
from agentkit.search import SearchConfig
from agentkit.search import run_search as run_engine
from agentkit.testing import FakeOpenAIServer, requested_fields

META_MARK = "You are an inventor of LLM agents"
QUESTION = re.compile(r"Compute the value of this expression: ([0-9()+\-* ]+)")
MARKER = re.compile(r"\b([A-Z]{3,}):: ")
# Agents answer right always (GOOD), never (BAD), or on about half the questions (anything else).
POLICY = {"GOOD": True, "BAD": False}


def _code(marker: str) -> str:
    return (
        "def forward(self, taskInfo):\n"
        f"    agent = LLMAgentBase(['thinking', 'answer'], '{marker} agent')\n"
        f"    thinking, answer = agent([taskInfo], '{marker}:: Compute the expression and give the integer.')\n"
        "    return answer\n"
    )


def _agent_reply(body: dict[str, Any]) -> str:
    text = user_text(body)
    question = QUESTION.search(text)
    fields = requested_fields(body) or ["answer"]
    value = "0"
    if question is not None:
        expression = question.group(1).strip()
        right = int(eval(expression, {"__builtins__": {}}))  # our own generated arithmetic only
        found = MARKER.search(text)
        marker = found.group(1) if found else "SEED"
        ok = POLICY.get(
            marker, int(hashlib.sha256(f"{marker}|{expression}".encode()).hexdigest(), 16) % 2 == 0
        )
        value = str(right if ok else right + 1)
    return json.dumps({f: value if "answer" in f else "Working." for f in fields})


class Meta:
    """Proposes GOOD, then BAD, then ones that answer half right; reviews keep the code."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def reply(self, body: dict[str, Any]) -> str:
        text = user_text(body)
        self.prompts.append(text)
        marker = ["GOOD", "BAD", "HALFA", "HALFB", "HALFC"][min(len(self.prompts) - 1, 4)]
        return json.dumps({"thought": f"Design {marker}.", "name": f"{marker} agent", "code": _code(marker)})


def _build(body: dict[str, Any]) -> str:
    text = user_text(body)
    ids = re.findall(r'"(ex[^"]*|[a-z]+/[^"]+|[0-9a-f-]{6,})"', text)
    cited = [i for i in ids if not i.startswith("a0")][:2]
    if "beyond noise: any rule type" in text:
        ops = [
            {
                "op": "write",
                "type": "success_pattern",
                "text": "Compute in one call and return the integer.",
                "example_ids": cited,
            }
        ]
    else:
        rules = re.findall(r"^- (r\d+) \[", text, flags=re.MULTILINE)
        ops = [
            {
                "op": "write",
                "type": "unresolved_error",
                "text": "Answers off by one stay unexplained.",
                "example_ids": cited,
            }
        ]
        if rules:
            ops.append(
                {
                    "op": "update",
                    "rule_id": rules[0],
                    "example_ids": cited,
                    "evidence": [{"agent_id": "a0999"}],
                }
            )
    return json.dumps({"operations": ops})


def _reflect(body: dict[str, Any]) -> str:
    return reflection_reply(re.findall(r"## Question (\S+) \(", user_text(body))[:2])


def _scripted_server(meta: Meta) -> FakeOpenAIServer:
    server = FakeOpenAIServer()
    server.add_rule(is_reflection, _reflect)
    server.add_rule(is_builder, _build)
    server.add_rule(lambda b: META_MARK in user_text(b), meta.reply)
    server.add_rule(lambda b: True, _agent_reply)
    return server


def _config(server: FakeOpenAIServer, **changes: Any) -> SearchConfig:
    settings: dict[str, Any] = {
        "task": "gen/arithmetic",
        "model": "openai/fake",
        "meta_model": "openai/fake",
        "api_base": server.base_url,
        "search_size": 20,
        "test_size": 4,
        "screen_size": 0,
        "self_review": 0,
        "debug_attempts": 0,
        "sandbox": {"isolation": "process"},
        "cache": False,
        "progress": False,
        # These tests script code proposals; workflow proposals and ensembles have tests of their own.
        "proposals": "code",
        "ensembles": False,
    }
    return SearchConfig.model_validate({**settings, **changes})


@pytest.mark.sandbox
async def test_scripted_search_with_reflection_and_manual(tmp_path: Path) -> None:
    meta = Meta()
    with _scripted_server(meta) as server:
        config = _config(server, generations=4, reflect={"hide_share": 0.0})
        outcome = await agentkit.run_search(config, tmp_path / "run")  # the public API, as the CLI runs
    assert outcome.status == "finished"
    with Archive.open(tmp_path / "run") as archive:
        assert archive.events("hook_error") == []
        candidates = [a for a in archive.agents(origin="meta") if a.status in ("evaluated", "screened")]
        assert len(candidates) == 4
        reflections = {r.agent_id: r.outcome for r in archive.reflections()}
        assert set(reflections) == {a.id for a in candidates}
        good = next(a for a in candidates if a.name == "GOOD agent")
        assert reflections[good.id] == "improved"
        rules = archive.rules()
        assert {r.type for r in rules} >= {"success_pattern", "unresolved_error"}
        assert all(r.evidence for r in rules)
        assert evidence_problems(archive) == []
        assert all(e.agent_id != "a0999" for r in rules for e in r.evidence)
        manual = compile_manual(archive)
        success = next(r for r in rules if r.type == "success_pattern")
        assert success.evidence[0].agent_id == good.id and success.text in manual
        # Rules written in generation 1 are in the meta prompt of generation 2 on.
        assert success.text not in meta.prompts[0] and success.text in meta.prompts[1]
        assert [s.generation for s in monitor_history(archive)] == [0, 1, 2, 3, 4]


@pytest.mark.sandbox
async def test_the_public_api_runs_the_full_method_by_default(tmp_path: Path) -> None:
    """`agentkit.run_search(config, dir)` with nothing else reflects, builds the manual and runs the
    monitor, as `agentkit search` does; the engine alone (`agentkit.search.run_search`) does none."""
    with _scripted_server(Meta()) as server:
        config = _config(server, generations=2)  # every reflection setting at its default
        outcome = await agentkit.run_search(config, tmp_path / "full")
        assert outcome.status == "finished", outcome.reason
        bare = await run_engine(config, tmp_path / "bare")
        assert bare.status == "finished", bare.reason
    with Archive.open(tmp_path / "full") as archive:
        assert archive.events("hook_error") == []
        assert archive.reflections(), "every candidate is reflected on"
        active = archive.rules("active")
        assert active, "the manual has active rules"
        assert all(r.text in compile_manual(archive) for r in active)
        assert archive.events("manual") and monitor_history(archive)
    with Archive.open(tmp_path / "bare") as archive:
        assert archive.reflections() == [] and archive.rules() == []
        assert archive.events("monitor") == [] and archive.events("manual") == []
