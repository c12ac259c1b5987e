"""An LLM judge for answers that cannot be matched exactly (tasks whose scorer is ``judge``).

A task scored by a judge names a rubric: for the whole task (`Task.rubric`, the ``rubric`` option of a
JSONL task) or per example (a ``rubric`` key of the example's metadata, which wins). The example's target,
when not empty, is shown as a reference answer. The judge model (`Judge.model`, ``--judge-model``) is
asked `Judge.samples` times independently (distinct cache entries, so a re-run replays them for free);
each reply gives a short rationale and a score from 0 to 10, and the example's score is the median of the
readable scores divided by 10. Calls go through the evaluation's own client under role ``judge``: they
are cached, counted in its usage and limited by its budget like every other call.

The prompt (``prompts/judge.md``) is ours. The agent's answer is never spliced into it as text: it is
quoted as one JSON string (newlines and quotes escaped) between fixed BEGIN/END lines, and the
instructions say it is data, so an answer cannot close the quotation and address the judge.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import statistics
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agentkit.errors import TaskError
from agentkit.llm import ModelConfig
from agentkit.records import AgentFailure, Judgement

if TYPE_CHECKING:
    from agentkit.llm import LLMClient
    from agentkit.tasks import Example, Task

JUDGE_SCORER = "judge"
"""The `Task.scorer_name` of tasks scored by a judge."""
JUDGE_ROLE = "judge"
"""The role of judge calls in usage reports and budgets."""
_USER_MARK = "<!-- user message -->"
_SCORE = re.compile(r"-?\d+(?:\.\d+)?")


class Judge(BaseModel):
    """Who judges and how often: attach to a task with `with_judge` before evaluating it."""

    model: ModelConfig
    """The judge model (any model the client can call; it need not be the agents' model)."""
    samples: int = Field(default=3, ge=1, le=25)
    """Independent judgments per answer; the score is their median."""
    temperature: float | None = None
    """Sampling temperature of the judge (None: 0 for one sample, 0.7 for several, so they differ)."""
    max_tokens: int = Field(default=400, ge=16)
    """Completion token limit of one judgment."""


def with_judge(task: Task, judge: Judge) -> Task:
    """A copy of `task` that evaluations score with `judge` (the task's scorer must be ``judge``)."""
    if task.scorer_name != JUDGE_SCORER:
        raise TaskError(
            f"task {task.name!r} is scored by {task.scorer_name!r}, not by a judge: a judge model applies "
            f"only to tasks whose scorer is {JUDGE_SCORER!r}"
        )
    return task.model_copy(update={"judge": judge})


def rubric_for(task: Task, example: Example) -> str:
    """The rubric that applies to `example`: its own ``rubric`` metadata, else the task's; TaskError
    when neither exists."""
    own = example.metadata.get("rubric")
    rubric = own if isinstance(own, str) and own.strip() else task.rubric
    if not rubric or not rubric.strip():
        raise TaskError(
            f"example {example.id!r} of {task.name!r} has no rubric: give the task one (the JSONL option "
            "rubric=..., Task.rubric) or the example a 'rubric' field"
        )
    return rubric.strip()


def _template() -> tuple[str, str]:
    from agentkit._resources import read_prompt

    system, _, user = read_prompt("judge.md").partition(_USER_MARK)
    return system.strip(), user.strip()


def judge_messages(task: Task, example: Example, answer: str) -> list[dict[str, str]]:
    """The judge's chat messages for one answer (system rules, then task, rubric, reference, answer)."""
    from agentkit._resources import render

    system, user = _template()
    reference = example.target.strip()
    values = {
        "question": example.input.strip(),
        "rubric": rubric_for(task, example),
        "reference": f"\n# Reference answer\n\n{reference}\n" if reference else "",
        # One JSON string on one line: the answer cannot end the quotation or add lines of its own.
        "answer": json.dumps(answer, ensure_ascii=False),
    }
    return [{"role": "system", "content": system}, {"role": "user", "content": render(user, values)}]


def _read_score(value: str) -> float | None:
    match = _SCORE.search(value)
    if match is None:
        return None
    number = float(match.group(0))
    return min(max(number, 0.0), 10.0) / 10.0 if math.isfinite(number) else None


async def judge_answer(
    client: LLMClient, judge: Judge, task: Task, example: Example, answer: str
) -> Judgement:
    """Ask the judge `judge.samples` times about `answer` and combine the judgments (module docstring).

    Provider and budget errors propagate once every judgment has ended (the caller records them): the
    median of fewer than N judgments is not reported. An unreadable reply is counted in
    `Judgement.unreadable` and left out of the median."""
    messages = judge_messages(task, example, answer)
    temperature = judge.temperature
    if temperature is None:
        temperature = 0.0 if judge.samples == 1 else 0.7
    # Every judgment finishes (or fails) before anything is decided, so none is left in flight.
    outcomes = await asyncio.gather(
        *(
            client.complete_fields(
                messages,
                judge.model,
                ["rationale", "score"],
                role=JUDGE_ROLE,
                temperature=temperature,
                max_tokens=judge.max_tokens,
                sample_index=i,
                strict=False,
                instruct=False,
            )
            for i in range(judge.samples)
        ),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    replies = [o for o in outcomes if not isinstance(o, BaseException)]
    scores: list[float] = []
    rationales: list[str] = []
    cost: float | None = 0.0
    for reply in replies:
        cost = None if cost is None or reply.completion.cost_usd is None else cost + reply.completion.cost_usd
        score = _read_score(reply.fields.get("score", ""))
        if score is None:
            continue
        scores.append(score)
        rationales.append(reply.fields.get("rationale", "").strip())
    return Judgement(
        score=statistics.median(scores) if scores else 0.0,
        scores=scores,
        rationales=rationales,
        model=judge.model.model,
        samples=judge.samples,
        unreadable=judge.samples - len(scores),
        cost_usd=cost,
    )


async def judged_score(
    client: LLMClient, task: Task, example: Example, answer: str
) -> tuple[float, Judgement | None, AgentFailure | None]:
    """The score of `answer` on a ``judge`` task, its judgement, and the failure when the judge's calls
    failed: a refused budget is kind ``budget`` (score 0, as for the agent's own calls); any other
    failure of the judge says nothing about the agent, so it is kind ``provider`` and the example is
    left unscored, to be run again. TaskError when no judge is attached (`with_judge`)."""
    from agentkit.errors import BudgetExceeded, LLMError

    judge = task.judge
    if not isinstance(judge, Judge):
        raise TaskError(
            f"task {task.name!r} is scored by an LLM judge but none is attached: pass --judge-model, or "
            "in Python evaluate with_judge(task, Judge(model=...))"
        )
    try:
        judgement = await judge_answer(client, judge, task, example, answer)
    except BudgetExceeded as exc:
        return 0.0, None, AgentFailure(kind="budget", message=f"the judge's call was refused: {exc}")
    except LLMError as exc:
        return 0.0, None, AgentFailure(kind="provider", message=f"the judge's call failed: {exc}")
    return judgement.score, judgement, None


CHECK_RUBRIC = (
    "The answer is right when its final answer means the same as the reference answer (same number, "
    "option, label or words, whatever the wording around it), and wrong otherwise. Score 10 for right, "
    "0 for wrong."
)
"""The rubric `judge-check` gives the judge on a task with gold answers."""


class Agreement(BaseModel):
    """How well judged verdicts agree with exact-match verdicts on the same answers."""

    n: int
    """Answers compared."""
    accuracy: float
    """Share of answers on which both say the same (judge score >= 0.5 counts as right)."""
    kappa: float
    """Cohen's kappa: agreement beyond what the two verdicts' rates give by chance (1 perfect, 0 chance)."""
    both_right: int
    """Right by both."""
    both_wrong: int
    """Wrong by both."""
    judge_only: int
    """Right by the judge only (it was lenient)."""
    exact_only: int
    """Right by exact match only (the judge was harsh)."""


def agreement(exact: list[bool], judged: list[bool]) -> Agreement:
    """Accuracy and Cohen's kappa of `judged` against `exact` (same answers, same order).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e the agreement expected from
    the two verdicts' rates alone; when p_e is 1 (both always say the same one thing) kappa is 1.
    """
    if len(exact) != len(judged) or not exact:
        raise ValueError("agreement needs two verdict lists of the same, non-zero length")
    n = len(exact)
    both_right = sum(e and j for e, j in zip(exact, judged, strict=True))
    both_wrong = sum(not e and not j for e, j in zip(exact, judged, strict=True))
    observed = (both_right + both_wrong) / n
    p_exact, p_judge = sum(exact) / n, sum(judged) / n
    expected = p_exact * p_judge + (1 - p_exact) * (1 - p_judge)
    kappa = 1.0 if expected >= 1.0 else (observed - expected) / (1 - expected)
    return Agreement(
        n=n,
        accuracy=observed,
        kappa=kappa,
        both_right=both_right,
        both_wrong=both_wrong,
        judge_only=sum(j and not e for e, j in zip(exact, judged, strict=True)),
        exact_only=sum(e and not j for e, j in zip(exact, judged, strict=True)),
    )
