"""What an LLM judge said about an agent's answers (tasks scored by ``judge``): the data behind the judged
examples of `agentkit show RUN AGENT` and of each agent's details in the report.

An agent's answer and a judge's rationale are model-written, untrusted text: they are clipped here
(`ANSWER_CHARS`, `RATIONALE_CHARS`) and escaped wherever they are shown (control characters in the
terminal, HTML in the report).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agentkit.records import clip
from agentkit.report._data import EVAL_SPLIT

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive

ANSWER_CHARS = 300
"""Characters kept of a judged answer."""
RATIONALE_CHARS = 400
"""Characters kept of each rationale."""
SPLITS = ("search", "screen", "test", EVAL_SPLIT)
"""Splits looked at first (then any other split the agent has a summary for)."""


class JudgedExample(BaseModel):
    """One answer of an agent and what the judge made of it."""

    split: str
    """The split the result is stored under (search, screen, test, eval, ...)."""
    example_id: str
    """The example."""
    score: float
    """The score used (the median of the judgments)."""
    answer: str
    """The agent's answer (clipped; "" when it gave none)."""
    judge_model: str = ""
    """The judge model."""
    scores: list[float] = Field(default_factory=list)
    """Each readable judgment's score, 0 to 1."""
    rationales: list[str] = Field(default_factory=list)
    """The judge's reason for each readable judgment, in the same order (each clipped)."""
    unreadable: int = 0
    """Judgments whose reply held no score."""


def judged_examples(archive: Archive, agent: AgentRecord) -> list[JudgedExample]:
    """Every judged result of `agent`, split by split, in the order stored (empty for an agent scored
    without a judge)."""
    splits = list(SPLITS) + [s for s in agent.summaries if s not in SPLITS]
    out: list[JudgedExample] = []
    for split in splits:
        for result in archive.results(agent.id, split):
            j = result.judgement
            if j is None:
                continue
            out.append(
                JudgedExample(
                    split=split,
                    example_id=result.example_id,
                    score=result.score,
                    answer=clip(result.answer or "", ANSWER_CHARS),
                    judge_model=j.model,
                    scores=list(j.scores),
                    rationales=[clip(r, RATIONALE_CHARS) for r in j.rationales],
                    unreadable=j.unreadable,
                )
            )
    return out
