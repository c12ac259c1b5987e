"""Lessons from candidates that never reached an evaluation.

A weak meta model often fails before any example runs: the reply holds no code, the code does not
parse, `forward` has the wrong shape, or it uses names the runtime does not have. Such a candidate has
no per-example trace for the reflection model to read, yet the pattern is plain. So code, not a model,
turns it into `unresolved_error` rules: one rule per kind of problem, with a fixed text in our words,
citing every agent that showed it. A repeat of the same problem appends evidence (which also keeps the
rule from expiring), and a resumed generation adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit.archive import AgentRecord, Archive, RuleEvidence


@dataclass(frozen=True)
class FailureLesson:
    """The rule written for one kind of early failure."""

    key: str
    scope: str
    text: str


LESSONS: dict[str, FailureLesson] = {
    lesson.key: lesson
    for lesson in (
        FailureLesson(
            "no-code",
            "every proposal (failure before evaluation: the reply held no code)",
            "Reply with one JSON object whose `code` value is the complete Python source of the agent, "
            "starting with `def forward(self, taskInfo):`. Earlier replies came back without usable code.",
        ),
        FailureLesson(
            "syntax",
            "the code field (failure before evaluation: syntax error)",
            "The `code` value must be valid Python on its own: no prose or Markdown around it, every "
            "string and bracket closed, consistent four-space indentation. Earlier proposals did not parse.",
        ),
        FailureLesson(
            "forward-shape",
            "the agent's entry point (failure before evaluation: forward)",
            "Define exactly one top-level `def forward(self, taskInfo):` that returns the answer (an Info "
            "or a string). Earlier proposals had no forward, several, wrong arguments or no return.",
        ),
        FailureLesson(
            "unknown-names",
            "names used in agent code (failure before evaluation: undefined names)",
            "Use only the names in the runtime API reference, Python builtins and names you define. "
            "Earlier proposals called helpers that do not exist.",
        ),
        FailureLesson(
            "imports",
            "imports in agent code (failure before evaluation: imports)",
            "Import only the standard modules the runtime API reference allows; earlier proposals "
            "imported modules that agent code may not use.",
        ),
        FailureLesson(
            "top-level",
            "module level of agent code (failure before evaluation: top-level statements)",
            "Put all work inside forward (or functions it calls); earlier proposals ran statements at "
            "module level, which agent code may not do.",
        ),
    )
}


def _key_of_problem(line: str) -> str | None:
    text = line.strip().lstrip("-").strip()
    if text.startswith("SyntaxError"):
        return "syntax"
    if "forward" in text:
        return "forward-shape"
    if "is not defined" in text:
        return "unknown-names"
    if "import" in text:
        return "imports"
    if "top-level statement" in text:
        return "top-level"
    return None


def failure_keys(agent: AgentRecord) -> dict[str, str]:
    """The lesson keys an agent's early failure shows, each with the problem line that showed it."""
    kind = str(agent.meta.get("failure_kind") or "")
    failure = str(agent.meta.get("failure") or "")
    if kind == "no code":
        return {"no-code": failure.splitlines()[0] if failure else "no code"}
    if kind != "static check":
        return {}
    found: dict[str, str] = {}
    for line in failure.splitlines():
        key = _key_of_problem(line)
        if key is not None:
            found.setdefault(key, line.strip().lstrip("- ").strip())
    return found


def record_failure_lessons(archive: Archive, generation: int) -> list[str]:
    """Write or confirm the `unresolved_error` rules for the early failures of `generation`.

    Returns the ids of the rules written or updated. Rules are written as candidates; the manual's
    upkeep activates them at the end of the generation like every other rule.
    """
    failed = [a for a in archive.agents("failed", generation=generation) if a.origin == "meta"]
    if not failed:
        return []
    # A retired lesson stays retired: its lift was measured and found wanting.
    by_scope = {r.scope: r for r in archive.rules() if r.type == "unresolved_error"}
    seen: dict[str, list[RuleEvidence]] = {}
    for agent in failed:
        for key, problem in failure_keys(agent).items():
            seen.setdefault(key, []).append(
                RuleEvidence(agent_id=agent.id, generation=generation, note=f"{agent.id}: {problem}"[:300])
            )
    touched: list[str] = []
    with archive.transaction():
        for key, evidence in seen.items():
            lesson = LESSONS[key]
            rule = by_scope.get(lesson.scope)
            if rule is None:
                written = archive.add_rule(
                    "unresolved_error",
                    lesson.text,
                    generation=generation,
                    scope=lesson.scope,
                    example=evidence[0].note,
                    evidence=evidence,
                )
                touched.append(written.id)
                continue
            if rule.status == "retired":
                continue
            cited = {e.agent_id for e in rule.evidence}
            fresh = [e for e in evidence if e.agent_id not in cited]
            if fresh:
                archive.update_rule(rule.id, generation=generation, add_evidence=fresh)
                touched.append(rule.id)
    return touched
