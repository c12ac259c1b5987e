"""The records that cross the archive's boundary. Every row type the archive returns is one of these."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from agentkit.records import EvalSummary

AgentStatus = Literal["proposed", "failed", "screened", "evaluated"]
AgentOrigin = Literal["seed", "meta", "import", "ensemble", "control"]
ReviewKind = Literal["review", "debug"]
RuleType = Literal[
    "mechanism", "success_pattern", "helper", "corrected_error", "unresolved_error", "strategy"
]
RuleStatus = Literal["candidate", "active", "retired"]

AGENT_STATUSES: tuple[AgentStatus, ...] = ("proposed", "failed", "screened", "evaluated")
AGENT_ORIGINS: tuple[AgentOrigin, ...] = ("seed", "meta", "import", "ensemble", "control")
RULE_TYPES: tuple[RuleType, ...] = (
    "mechanism",
    "success_pattern",
    "helper",
    "corrected_error",
    "unresolved_error",
    "strategy",
)
RULE_STATUSES: tuple[RuleStatus, ...] = ("candidate", "active", "retired")


class RunInfo(BaseModel):
    """What a run directory is: where it lives, how it was configured and when."""

    run_dir: Path
    """The run directory holding `archive.sqlite` and `agents/`."""
    config: dict[str, Any]
    """The run configuration exactly as the caller stored it (models, task, splits, seeds, budget, ...)."""
    created_at: datetime
    """When the archive was created (UTC)."""
    schema_version: int
    """Version of the database schema."""


class AgentRecord(BaseModel):
    """One agent in the archive, with its lineage and every evaluation summary it has."""

    id: str
    """Short stable id, sequential by default (`a0001`, `a0002`, ...)."""
    name: str
    """Human-readable name the agent was given (not necessarily unique)."""
    thought: str
    """The proposer's reasoning behind the design."""
    code: str
    """The agent's Python source (defines `forward(self, taskInfo)`)."""
    code_hash: str
    """`normalised_code_hash(code)`: equal for copies that differ only in layout, comments or docstrings."""
    parents: list[str] = Field(default_factory=list)
    """Ids of the agents this one was derived from, in the order given."""
    generation: int
    """Search generation that produced it (seeds are generation 0)."""
    origin: AgentOrigin
    """Where it came from: a seed file, the meta agent, an imported archive, an ensemble built at the end
    of a search, or a control of the search's own measurements (e.g. a proposal before self-review,
    scored under its own split and never selected or bred from)."""
    status: AgentStatus
    """How far it got: proposed, failed, screened (subset only) or evaluated (full search split)."""
    created_at: datetime
    """When the row was first written (UTC)."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Anything else the caller chose to keep with the agent (e.g. an imported fitness string)."""
    summaries: dict[str, EvalSummary] = Field(default_factory=dict)
    """Evaluation summary per split name (`search`, `screen`, `test`, ...), where measured."""

    @property
    def search_summary(self) -> EvalSummary | None:
        """The summary on the search split, if measured."""
        return self.summaries.get("search")

    @property
    def test_summary(self) -> EvalSummary | None:
        """The summary on the sealed test split, if measured."""
        return self.summaries.get("test")


class ReviewRecord(BaseModel):
    """One self-review or debug round of an agent: what the meta agent was shown and what it said."""

    id: int
    """Row id, increasing in write order."""
    agent_id: str
    """The agent under review."""
    round: int
    """Round number within its kind, starting at 1."""
    kind: ReviewKind
    """`review` (self-review before evaluation) or `debug` (a fix asked for after an error)."""
    prompt_excerpt: str
    """The part of the prompt worth keeping (the caller decides how much)."""
    reply: str
    """The meta agent's reply."""
    error_shown: str | None
    """The error text shown to the meta agent in a debug round."""
    created_at: datetime
    """When it was written (UTC)."""


class ReflectionRecord(BaseModel):
    """A structured reflection on an evaluated candidate."""

    id: int
    """Row id, increasing in write order."""
    agent_id: str
    """The agent reflected on."""
    generation: int
    """Generation in which the reflection was made."""
    outcome: str
    """Outcome against the parent: improved, regressed, no_change or crashed."""
    payload: dict[str, Any]
    """The reflection itself (fault, first wrong step, pattern, example ids, contrasting agent, ...)."""
    created_at: datetime
    """When it was written (UTC)."""


class RuleEvidence(BaseModel):
    """One observation that supports a rule."""

    agent_id: str
    """The agent the observation came from."""
    generation: int
    """Generation of the observation."""
    score_change: float | None = None
    """Change in score against the parent, where one applies."""
    example_ids: list[str] = Field(default_factory=list)
    """Examples that show the pattern."""
    reflection_id: int | None = None
    """The reflection row the observation came from, where there is one."""
    note: str = ""
    """Free text: what was seen."""


class RuleOrigin(BaseModel):
    """Where a rule carried over from another run's manual came from (``--manual-from RUN``)."""

    run_dir: str
    """The run directory it was imported from (as resolved when it was imported)."""
    rule_id: str
    """Its id in that run."""
    created_gen: int
    """The generation of that run in which it was written."""
    lift: float | None = None
    """Its measured lift in that run when it was imported (shown minus hidden mean gain), if measured."""


class RuleRecord(BaseModel):
    """A rule of the manual the meta agent reads, with its evidence and measured lift."""

    id: str
    """Short stable id (`r001`, `r002`, ...)."""
    type: RuleType
    """Kind of rule (mechanism, success_pattern, helper, corrected_error, unresolved_error, strategy)."""
    scope: str
    """When the rule applies."""
    text: str
    """The rule itself, shown to the meta agent word for word."""
    example: str
    """An example illustrating the rule."""
    status: RuleStatus
    """candidate, active or retired."""
    created_gen: int
    """Generation in which it was written."""
    last_confirmed_gen: int
    """Last generation in which new evidence was added."""
    evidence: list[RuleEvidence] = Field(default_factory=list)
    """Every observation backing the rule, in the order added."""
    shown_count: int = 0
    """Candidates proposed while the rule was in the manual."""
    hidden_count: int = 0
    """Candidates proposed while the rule was held out of the manual."""
    shown_score_sum: float = 0.0
    """Sum of those candidates' scores while shown (the search records each candidate's paired gain over
    its main parent on the same questions; runs before that recorded its mean score)."""
    hidden_score_sum: float = 0.0
    """Sum of those candidates' scores while hidden (see `shown_score_sum`)."""
    imported_from: RuleOrigin | None = None
    """For a rule carried over from another run's manual: that run and the rule's id there (None for the
    run's own rules). An imported rule is measured, shown and retired like any other."""
    updated_at: datetime
    """When the row last changed (UTC)."""

    @property
    def shown_mean(self) -> float | None:
        """Mean candidate score while the rule was shown, None before any observation."""
        return self.shown_score_sum / self.shown_count if self.shown_count else None

    @property
    def hidden_mean(self) -> float | None:
        """Mean candidate score while the rule was hidden, None before any observation."""
        return self.hidden_score_sum / self.hidden_count if self.hidden_count else None

    @property
    def lift(self) -> float | None:
        """shown_mean - hidden_mean, None until both sides have observations."""
        if self.shown_mean is None or self.hidden_mean is None:
            return None
        return self.shown_mean - self.hidden_mean


class RuleEventRecord(BaseModel):
    """One entry of the append-only history of the rule manual."""

    id: int
    """Row id, increasing in write order."""
    rule_id: str
    """The rule concerned."""
    generation: int
    """Generation in which it happened."""
    kind: str
    """write, update, status (activate/retire) or lift (an imported rule's write event carries its
    ``imported_from``)."""
    payload: dict[str, Any]
    """What changed."""
    ts: datetime
    """When it was written (UTC)."""


class EventRecord(BaseModel):
    """One entry of the run's event log."""

    id: int
    """Row id, increasing in write order."""
    ts: datetime
    """When it was written (UTC)."""
    generation: int | None
    """Generation it belongs to, if any."""
    kind: str
    """What kind of event (the caller's vocabulary, e.g. `generation_start`, `budget_stop`)."""
    payload: dict[str, Any]
    """Details of the event."""


EVAL_USAGE_ROLE = "eval"
"""The usage role of calls made by scoring a run's agents into it afterwards (`agentkit eval --run`):
in the run's totals and its cost by role, but not spent from a search's budget."""


class UsageTotals(BaseModel):
    """Model usage added up."""

    calls: int = 0
    """Model calls."""
    prompt_tokens: int = 0
    """Prompt tokens."""
    completion_tokens: int = 0
    """Completion tokens."""
    cost_usd: float | None = None
    """Cost in dollars of the calls with a known price; None when no call had one."""
    unpriced_calls: int = 0
    """Calls to models with no known price: their cost is not in `cost_usd`."""


class UsageRecord(UsageTotals):
    """Model usage of one role and model in one generation."""

    @model_validator(mode="after")
    def _unpriced(self) -> UsageRecord:
        # One model, priced or not: a record with no cost is calls whose cost is unknown.
        if self.cost_usd is None:
            self.unpriced_calls = self.calls
        return self

    generation: int
    """The generation the usage was spent in."""
    role: str
    """Who spent it: meta, agent, reflection, ..."""
    model: str
    """The model name."""
