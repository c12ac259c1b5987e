"""The typed workflow spec: an ordered list of operators with their parameters.

A workflow keeps two things while it runs: the candidate answers found so far and the notes later steps
read (principles, program output). Producers (`generate`, `debate`, `program`, `call_agent`, `route`)
add a candidate; `vote` reduces the candidates to the most common one; refiners (`critique_revise`,
`verify`) improve the current answer (the most common candidate) and replace the candidates with it;
`step_back` adds principles to the notes. Every order of steps is meaningful: a refiner or vote with no
candidate yet first asks for one plain answer, and the final answer is the vote over what is left. So
the static checks only reject what cannot run (unknown operators, bad parameters, unknown agent ids,
too many model calls), which is what lets a small model propose working agents.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_STEPS = 6
"""Steps in one workflow; more is rarely better and always slower."""

AGENT_ID = r"^[A-Za-z0-9_.-]{1,40}$"


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Generate(_Step):
    """Answer the question, possibly several times (several samples are independent calls)."""

    op: Literal["generate"] = "generate"
    """Operator name."""
    instruction: str = Field("Think step by step, then give the answer.", min_length=1, max_length=400)
    """What the model is told to do."""
    role: str = Field("careful problem solver", min_length=1, max_length=80)
    """Completes "You are a ..."."""
    temperature: float = Field(0.5, ge=0.0, le=1.2)
    """Sampling temperature."""
    samples: int = Field(1, ge=1, le=5)
    """Independent answers to add to the candidates."""


class Vote(_Step):
    """Keep only the most common candidate answer (self-consistency when it follows samples)."""

    op: Literal["vote"] = "vote"
    """Operator name."""


class CritiqueRevise(_Step):
    """A critic points out mistakes in the current answer; the solver revises it; repeated."""

    op: Literal["critique_revise"] = "critique_revise"
    """Operator name."""
    rounds: int = Field(1, ge=1, le=3)
    """Critique-and-revise rounds."""
    critic_role: str = Field("strict reviewer", min_length=1, max_length=80)
    """Completes "You are a ..." for the critic."""


class Debate(_Step):
    """Several debaters answer, read each other's answers for more rounds, and a judge decides."""

    op: Literal["debate"] = "debate"
    """Operator name."""
    agents: int = Field(2, ge=2, le=3)
    """Number of debaters."""
    rounds: int = Field(1, ge=1, le=2)
    """Rounds after the first answers."""
    judge_role: str = Field("fair judge", min_length=1, max_length=80)
    """Completes "You are a ..." for the final judge."""


class StepBack(_Step):
    """Ask first for the principles or facts the question relies on; later steps see them."""

    op: Literal["step_back"] = "step_back"
    """Operator name."""
    instruction: str = Field(
        "Which general principles, formulas or facts does this question rely on? List them briefly.",
        min_length=1,
        max_length=400,
    )
    """What the model is told to do."""


class Program(_Step):
    """Program of thought: the model writes Python, `run_python` runs it, the model states the answer."""

    op: Literal["program"] = "program"
    """Operator name."""
    instruction: str = Field(
        "Write Python code that computes the answer and stores it in a variable named answer.",
        min_length=1,
        max_length=400,
    )
    """What the model is told to do when it writes the program."""


class Verify(_Step):
    """A verifier judges the current answer; when it says no, the solver tries again with the reason."""

    op: Literal["verify"] = "verify"
    """Operator name."""
    retries: int = Field(1, ge=1, le=3)
    """New attempts at most after a rejection."""


class CallAgent(_Step):
    """Run another agent of the archive on the question and add its answer to the candidates."""

    op: Literal["call_agent"] = "call_agent"
    """Operator name."""
    agent_id: str = Field(pattern=AGENT_ID)
    """Id of an agent in this run's archive (for example a0003)."""


class Route(_Step):
    """A short classification call picks one of several archive agents for this question, which runs."""

    op: Literal["route"] = "route"
    """Operator name."""
    agent_ids: list[Annotated[str, Field(pattern=AGENT_ID)]] = Field(min_length=2, max_length=5)
    """Ids of the archive agents to choose from."""


Step = Annotated[
    Generate | Vote | CritiqueRevise | Debate | StepBack | Program | Verify | CallAgent | Route,
    Field(discriminator="op"),
]
STEP_TYPES: tuple[type[_Step], ...] = (
    Generate,
    Vote,
    CritiqueRevise,
    Debate,
    StepBack,
    Program,
    Verify,
    CallAgent,
    Route,
)
"""Every operator, in the order the meta prompt lists them."""

OPERATORS: dict[str, type[_Step]] = {t.model_fields["op"].default: t for t in STEP_TYPES}
"""Operator name -> its model."""


class WorkflowSpec(BaseModel):
    """An agent as a composition of operators. `render_workflow` turns it into ordinary agent code."""

    model_config = ConfigDict(extra="forbid")

    thought: str = Field("", max_length=2000)
    """Why this composition should work (shown to later meta-agent prompts like a code agent's thought)."""
    name: str = Field(min_length=1, max_length=80)
    """A short name for the agent."""
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    """The operators, run in order."""

    def outline(self) -> str:
        """The operators in order, e.g. ``generate → vote``."""
        return " → ".join(step.op for step in self.steps)

    def agent_ids(self) -> list[str]:
        """Ids of the archive agents this workflow calls, in order of first use."""
        seen: list[str] = []
        for step in self.steps:
            ids = (
                [step.agent_id]
                if isinstance(step, CallAgent)
                else step.agent_ids
                if isinstance(step, Route)
                else []
            )
            seen += [i for i in ids if i not in seen]
        return seen


def model_calls(spec: WorkflowSpec) -> int:
    """The most model calls one question can cost (not counting the agents the workflow calls).

    >>> model_calls(WorkflowSpec(name="sc", steps=[Generate(samples=5), Vote()]))
    5
    """
    calls, have_answer = 0, False
    for step in spec.steps:
        if isinstance(step, Generate):
            calls, have_answer = calls + step.samples, True
        elif isinstance(step, Debate):
            calls, have_answer = calls + step.agents * (step.rounds + 1) + 1, True
        elif isinstance(step, Program):
            calls, have_answer = calls + 2, True
        elif isinstance(step, StepBack):
            calls += 1
        elif isinstance(step, Route):
            calls, have_answer = calls + 1, True
        elif isinstance(step, CallAgent):
            have_answer = True
        elif isinstance(step, Vote | CritiqueRevise | Verify):
            if not have_answer:  # the step first asks for one plain answer
                calls, have_answer = calls + 1, True
            if isinstance(step, CritiqueRevise):
                calls += 2 * step.rounds
            elif isinstance(step, Verify):
                calls += 2 * step.retries
    return calls + (0 if have_answer else 1)
