"""Early failures (no code, static-check problems) become code-written unresolved_error rules."""

from __future__ import annotations

from agentkit.archive import Archive
from agentkit.reflect import LESSONS, failure_keys, formulate, record_failure_lessons


def _failed(archive: Archive, generation: int, failure: str, kind: str = "static check") -> str:
    agent = archive.add_agent(
        f"broken g{generation}",
        "def forward(self, taskInfo):\n    return 'x'\n" if kind != "no code" else "",
        generation=generation,
        origin="meta",
        status="failed",
        meta={"failure": failure, "failure_kind": kind},
    )
    return agent.id


def test_each_kind_of_early_failure_gets_one_rule_citing_its_agents(archive: Archive) -> None:
    syntax = "The code failed the static checks:\n- SyntaxError: unterminated string literal (line 1)"
    both = (
        "The code failed the static checks:\n- SyntaxError: invalid syntax (line 3)\n"
        "- line 4: name 'solve' is not defined (runtime names: Info, LLMAgentBase)"
    )
    a1 = _failed(archive, 1, syntax)
    a2 = _failed(archive, 1, both)
    a3 = _failed(archive, 1, "the reply contained no code", kind="no code")
    archive.add_agent("dup", "x = 1", generation=1, origin="meta", status="failed",
                      meta={"failure": "duplicate", "failure_kind": "duplicate of a0001"})  # fmt: skip

    touched = record_failure_lessons(archive, 1)

    rules = {r.scope: r for r in archive.rules()}
    assert len(touched) == 3 and len(rules) == 3
    syntax_rule = rules[LESSONS["syntax"].scope]
    assert syntax_rule.type == "unresolved_error" and syntax_rule.status == "candidate"
    assert syntax_rule.text == LESSONS["syntax"].text
    assert [e.agent_id for e in syntax_rule.evidence] == [a1, a2]
    assert [e.agent_id for e in rules[LESSONS["unknown-names"].scope].evidence] == [a2]
    assert [e.agent_id for e in rules[LESSONS["no-code"].scope].evidence] == [a3]
    for rule in rules.values():  # evidence cites real agents of the archive
        for e in rule.evidence:
            assert archive.agent(e.agent_id).status == "failed"


def test_repeats_append_evidence_once_and_retired_lessons_stay_retired(archive: Archive) -> None:
    syntax = "The code failed the static checks:\n- SyntaxError: invalid syntax (line 1)"
    first = _failed(archive, 1, syntax)
    (rule_id,) = record_failure_lessons(archive, 1)
    assert record_failure_lessons(archive, 1) == []  # a repeated generation (resume) adds nothing

    second = _failed(archive, 2, syntax)
    assert record_failure_lessons(archive, 2) == [rule_id]
    rule = archive.rule(rule_id)
    assert [e.agent_id for e in rule.evidence] == [first, second]
    assert rule.last_confirmed_gen == 2

    archive.set_rule_status(rule_id, "retired", generation=2, reason="no measured lift")
    _failed(archive, 3, syntax)
    assert record_failure_lessons(archive, 3) == []
    assert len(archive.rules()) == 1


def test_the_lesson_reaches_the_manual_word_for_word(archive: Archive) -> None:
    _failed(archive, 1, "the reply contained no code", kind="no code")
    (rule_id,) = record_failure_lessons(archive, 1)
    archive.set_rule_status(rule_id, "active", generation=1, reason="test")
    manual = formulate(archive.rules("active"))
    assert LESSONS["no-code"].text in manual.text


def test_failures_after_evaluation_are_left_to_the_reflection_model(archive: Archive) -> None:
    agent = archive.add_agent("crashy", "def forward(self, taskInfo):\n    return 1/0\n", generation=1,
                              origin="meta", status="evaluated")  # fmt: skip
    assert failure_keys(agent) == {}
    assert record_failure_lessons(archive, 1) == []
