"""`import-adas`: an ADAS archive file becomes a new run; malformed entries are skipped and reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit.archive import Archive
from agentkit.errors import ArchiveError, ConfigError
from agentkit.report import import_adas, parse_adas_fitness

GOOD = 'def forward(self, taskInfo):\n    agent = LLMAgentBase(["answer"], "A")\n    return agent([taskInfo], "go")[0]\n'
ADAS: list[Any] = [
    {
        "thought": "Chain of thought.",
        "name": "Chain-of-Thought",
        "code": GOOD,
        "fitness": "95% Bootstrap Confidence Interval: (12.5%, 25.0%), Median: 18.8%",
        "generation": "initial",
    },
    {
        "thought": "Debate.",
        "name": "LLM Debate",
        "code": GOOD.replace('"A"', '"B"'),
        "fitness": "95% Bootstrap Confidence Interval: (20.3%, 35.9%), Median: 28.1%",
        "generation": 3,
        "debug_thought": "fixed it",
        "acc_list": [0, 1, 1],
    },
    {"name": "No code", "thought": "oops"},
    "just a string",
    {"name": "Unparsable", "code": "def forward(self, taskInfo:\n", "fitness": "x"},
    {"name": "No forward", "code": "x = 1\n"},
    {"name": "Bad gen", "code": GOOD, "generation": "soon"},
]


def test_import_adas(tmp_path: Path) -> None:
    src = tmp_path / "mgsm_results.json"
    src.write_text(json.dumps(ADAS))
    report = import_adas(src, out=tmp_path / "imported", task="mgsm")
    assert [a.index for a in report.imported] == [0, 1]
    assert {s.index: s.reason for s in report.skipped}.keys() == {2, 3, 4, 5, 6}
    reasons = {s.index: s.reason for s in report.skipped}
    assert "code" in reasons[2] and "str" in reasons[3] and "parse" in reasons[4]
    assert "forward" in reasons[5] and "generation" in reasons[6]
    with Archive.open(report.run_dir) as archive:
        assert archive.config["task"] == "mgsm" and archive.config["source"] == "adas-import"
        agents = archive.agents()
        assert [a.name for a in agents] == ["Chain-of-Thought", "LLM Debate"]
        assert all(a.origin == "import" and a.status == "proposed" and not a.summaries for a in agents)
        assert [a.generation for a in agents] == [0, 3]
        debate = agents[1]
        assert debate.meta["adas_fitness"].startswith("95% Bootstrap")
        assert debate.meta["adas_fitness_parsed"] == pytest.approx(
            {"median": 0.281, "low": 0.203, "high": 0.359, "confidence": 0.95}
        )
        assert debate.meta["adas_extra"] == {"debug_thought": "fixed it", "acc_list": [0, 1, 1]}
        assert debate.code == ADAS[1]["code"] and debate.thought == "Debate."
        (event,) = archive.events("adas_import")
        assert [s["index"] for s in event.payload["skipped"]] == [2, 3, 4, 5, 6]
        assert event.payload["imported"][1]["fitness"].endswith("Median: 28.1%")
        assert sorted(p.name for p in archive.agents_dir.glob("*.py")) == [
            "000_a0001_chain_of_thought.py",
            "003_a0002_llm_debate.py",
        ]
    with pytest.raises(ArchiveError, match="already holds an archive"):
        import_adas(src, out=report.run_dir)


def test_import_rejects_non_list(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}')
    with pytest.raises(ConfigError, match="JSON list"):
        import_adas(bad, out=tmp_path / "r")
    bad.write_text("[{")
    with pytest.raises(ConfigError, match="not JSON"):
        import_adas(bad, out=tmp_path / "r")
    assert not Archive.exists(tmp_path / "r")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "95% Bootstrap Confidence Interval: (12.5%, 25.0%), Median: 18.8%",
            {"median": 0.188, "low": 0.125, "high": 0.25, "confidence": 0.95},
        ),
        ("Median: 40%", {"median": 0.4, "low": None, "high": None, "confidence": None}),
        (0.5, {"median": 0.5, "low": None, "high": None, "confidence": None}),
        (62.5, {"median": 0.625, "low": None, "high": None, "confidence": None}),
        ("33.3%", {"median": 0.333, "low": None, "high": None, "confidence": None}),
    ],
)
def test_parse_adas_fitness(value: object, expected: dict[str, float | None]) -> None:
    parsed = parse_adas_fitness(value)
    assert parsed is not None
    assert parsed.model_dump() == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "n/a", True, [1, 2]])
def test_parse_adas_fitness_nothing(value: object) -> None:
    assert parse_adas_fitness(value) is None
