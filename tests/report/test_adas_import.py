"""`import-adas`: an ADAS archive file becomes a new run; malformed entries are skipped and reported."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentkit.archive import Archive, RunLock, lock_holder
from agentkit.errors import ArchiveError, ConfigError, RunLocked
from agentkit.report import AdasReported, AdasScore, adas_reported, import_adas, parse_adas_fitness

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
    {
        # ADAS stores some thoughts as JSON objects; its evaluation files add a test fitness.
        "thought": {"Insights": "Verify.", "Overall Idea": "Ensemble, then verify.", "Implementation": "..."},
        "name": "Reflective Verification Ensemble",
        "code": GOOD.replace('"A"', '"C"'),
        "fitness": "95% Bootstrap Confidence Interval: (15.6%, 30.5%), Median: 22.7%",
        "generation": 1,
        "test_fitness": "95% Bootstrap Confidence Interval: (27.4%, 33.8%), Median: 30.5%",
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
    assert [a.index for a in report.imported] == [0, 1, 2]
    assert {s.index: s.reason for s in report.skipped}.keys() == {3, 4, 5, 6, 7}
    reasons = {s.index: s.reason for s in report.skipped}
    assert "code" in reasons[3] and "str" in reasons[4] and "parse" in reasons[5]
    assert "forward" in reasons[6] and "generation" in reasons[7]
    assert report.imported[2].test_fitness is not None and report.imported[2].test_fitness.endswith("30.5%")
    with Archive.open(report.run_dir) as archive:
        assert archive.config["task"] == "mgsm" and archive.config["source"] == "adas-import"
        agents = archive.agents()
        assert [a.name for a in agents] == [
            "Chain-of-Thought",
            "LLM Debate",
            "Reflective Verification Ensemble",
        ]
        assert all(a.origin == "import" and a.status == "proposed" and not a.summaries for a in agents)
        assert [a.generation for a in agents] == [0, 3, 1]
        debate = agents[1]
        assert debate.meta["adas_fitness"].startswith("95% Bootstrap")
        assert debate.meta["adas_fitness_parsed"] == pytest.approx(
            {"median": 0.281, "low": 0.203, "high": 0.359, "confidence": 0.95}
        )
        assert debate.meta["adas_extra"] == {"debug_thought": "fixed it", "acc_list": [0, 1, 1]}
        assert debate.code == ADAS[1]["code"] and debate.thought == "Debate."
        assert adas_reported(debate.meta) == AdasReported(
            fitness=AdasScore(median=0.281, low=0.203, high=0.359, confidence=0.95, text=ADAS[1]["fitness"])
        )
        verify = agents[2]
        assert json.loads(verify.thought) == ADAS[2]["thought"]  # kept whole, as its JSON text
        reported = adas_reported(verify.meta)
        assert reported is not None and reported.fitness is not None and reported.test_fitness is not None
        assert reported.fitness.median == pytest.approx(0.227)
        assert (reported.test_fitness.low, reported.test_fitness.high) == pytest.approx((0.274, 0.338))
        assert reported.test_fitness.text == ADAS[2]["test_fitness"]
        assert "adas_extra" not in verify.meta  # test_fitness is read, not left over
        (event,) = archive.events("adas_import")
        assert [s["index"] for s in event.payload["skipped"]] == [3, 4, 5, 6, 7]
        assert event.payload["imported"][1]["fitness"].endswith("Median: 28.1%")
        assert event.payload["imported"][2]["test_fitness"].endswith("Median: 30.5%")
        assert sorted(p.name for p in archive.agents_dir.glob("*.py")) == [
            "000_a0001_chain_of_thought.py",
            "001_a0003_reflective_verification_ensemble.py",
            "003_a0002_llm_debate.py",
        ]
    assert lock_holder(report.run_dir) is None  # the import released the run
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


@pytest.mark.parametrize("value", [None, "n/a", True, [1, 2], float("inf"), float("nan")])
def test_parse_adas_fitness_nothing(value: object) -> None:
    assert parse_adas_fitness(value) is None


def test_import_into_a_locked_directory_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "adas.json"
    src.write_text(json.dumps(ADAS[:1]))
    (tmp_path / "run").mkdir()
    with (
        RunLock.acquire(tmp_path / "run", command="agentkit import-adas other.json"),
        pytest.raises(RunLocked, match=r"import-adas other\.json"),
    ):
        import_adas(src, out=tmp_path / "run")
    assert not Archive.exists(tmp_path / "run")
    assert len(import_adas(src, out=tmp_path / "run").imported) == 1


def test_every_entry_of_a_published_adas_file_imports(tmp_path: Path) -> None:
    """The shape of ADAS's published results: thoughts as text or objects, names of any kind."""
    entries = [
        {"thought": t, "name": n, "code": GOOD, "fitness": "Median: 10.0%", "generation": g}
        for t, n, g in [
            ("plain", "A", "initial"),
            ({"Insights": "x", "Overall Idea": ["a", "b"]}, "B", 1),
            (["step 1", "step 2"], "C", 2),
            (None, 7, 3),
        ]
    ]
    src = tmp_path / "adas.json"
    src.write_text(json.dumps(entries))
    report = import_adas(src, out=tmp_path / "run")
    assert report.skipped == [] and [a.name for a in report.imported] == ["A", "B", "C", "7"]
    with Archive.open(report.run_dir) as archive:
        thoughts = [a.thought for a in archive.agents()]
    assert thoughts[0] == "plain" and thoughts[3] == ""
    assert (
        json.loads(thoughts[1]) == entries[1]["thought"] and json.loads(thoughts[2]) == entries[2]["thought"]
    )


def test_a_non_finite_fitness_keeps_its_agent(tmp_path: Path) -> None:
    # JSON's 1e999 reads as infinity, which the archive cannot store as a parsed score: the import used
    # to stop there, losing every entry and leaving an empty run that blocked a second try.
    src = tmp_path / "mixed.json"
    entry = json.dumps({"name": "A", "code": GOOD, "generation": 1, "fitness": 0.5})
    src.write_text("[" + entry.replace("0.5", "1e999") + "]")
    report = import_adas(src, out=tmp_path / "r")
    assert [a.index for a in report.imported] == [0] and report.skipped == []
    with Archive.open(report.run_dir) as archive:
        (agent,) = archive.agents()
        assert agent.meta["adas_fitness"] == "inf" and agent.meta["adas_fitness_parsed"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe[]", "is not UTF-8 text"),
        (b"[]", "holds no agents"),
        (b'[{"name": "x"}, 3]', "none of its 2 entries can be imported (entry 0: no 'code' string)"),
    ],
)
def test_a_file_with_nothing_to_import_leaves_no_run(tmp_path: Path, content: bytes, message: str) -> None:
    src = tmp_path / "adas.json"
    src.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        import_adas(src, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()
    (tmp_path / "given").mkdir()  # an empty directory the user named is left as it was
    with pytest.raises(ConfigError):
        import_adas(src, out=tmp_path / "given")
    assert list((tmp_path / "given").iterdir()) == []
