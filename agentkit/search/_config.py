"""Every setting of one Meta Agent Search run. Stored in the archive's run config, so a resumed run
continues with exactly the settings it started with.

The settings are nested: the top level says what is searched and how (task, models, split sizes, the
shape of the search), and four typed sections hold the rest, each the type that its component takes:
``budget`` (`agentkit.llm.Budget`), ``prompt`` (`PromptLimits`), ``sandbox`` (`SandboxSettings`, an
`agentkit.sandbox.SandboxConfig`) and ``reflect`` (`ReflectConfig`, read by `agentkit.reflect`). A
setting is named by its dotted key, e.g. ``budget.max_cost_usd`` or ``sandbox.workers``: the key in a
``--config`` TOML file, in the report's full configuration and in the CLI's flag table.

Runs written before the sections existed stored one flat dict (``budget_usd``, ``workers``,
``extra["reflect"]``, ...); `migrate` maps it to the nested shape whenever a configuration is read, so
those runs still open, show, report and resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentkit.llm import Budget
from agentkit.search._sections import Isolation, PromptLimits, ReflectConfig, SandboxSettings

Selection = Literal["complementary", "best", "random"]

__all__ = ["FLAT_KEYS", "Isolation", "SearchConfig", "Selection", "migrate"]

FLAT_KEYS: dict[str, str] = {
    "budget_usd": "budget.max_cost_usd",
    "budget_calls": "budget.max_calls",
    "budget_tokens": "budget.max_tokens",
    "prompt_max_tokens": "prompt.max_tokens",
    "prompt_code_chars": "prompt.code_chars",
    "prompt_failures": "prompt.failures",
    "prompt_example_chars": "prompt.example_chars",
    "prompt_manual_chars": "prompt.manual_chars",
    "isolation": "sandbox.isolation",
    "workers": "sandbox.workers",
    "wall_time_s": "sandbox.wall_time_s",
    "reflection": "reflect.reflection",
    "manual": "reflect.manual",
}
"""Each key of the flat configuration (runs written before the sections) and its dotted key now."""

_EXTRA_KEYS: dict[str, str] = {"task_options": "task_options", "reflect": "reflect"}
"""What the flat configuration kept in ``extra`` and where it lives now."""

_SWITCHES = frozenset({"reflect.reflection", "reflect.manual"})
"""Settings the flat shape held twice (top level and ``extra["reflect"]``), in force only when both
said on."""


class SearchConfig(BaseModel):
    """Settings of a search run: what is searched and how at the top level, the rest in typed sections."""

    model_config = ConfigDict(extra="forbid")

    task: str
    """Task name as `agentkit.tasks.load_task` takes it, e.g. ``gen/arithmetic`` or ``gsm8k``."""
    task_split: str | None = None
    """Which split of the task's source the examples come from (``train``, ``test``; None: the task's
    default)."""
    data_dir: str | None = None
    """Local data directory for tasks that read files (None: the task's default lookup)."""
    task_options: dict[str, Any] = Field(default_factory=dict)
    """Options passed to the task loader (e.g. ``{"difficulty": 1}`` for generated tasks)."""
    model: str = "local"
    """Model the agents call (litellm ``provider/name`` or ``local``)."""
    meta_model: str = "local"
    """Model of the meta agent that writes agents; may differ from `model`."""
    api_base: str | None = None
    """OpenAI-compatible base URL used for every model of the run (e.g. a self-hosted server); None: the
    provider's default."""
    agent_temperature: float | None = None
    """Sampling temperature of agent calls that give none (None: the model's default)."""
    agent_max_tokens: int | None = Field(default=None, ge=16)
    """Completion token limit of one agent model call (None: the model's default). A small model that
    does not stop would otherwise write until the model's limit on every call it rambles on."""
    meta_temperature: float = 0.8
    """Sampling temperature of the meta agent's proposals."""
    meta_max_tokens: int = 2048
    """Completion token limit of one meta agent reply."""
    model_timeout_s: float = 120.0
    """Time limit of one model request attempt, in seconds."""
    search_size: int = Field(default=50, ge=1)
    """Examples in the search split (every candidate is scored on these)."""
    test_size: int = Field(default=50, ge=0)
    """Examples in the sealed test split (only the final top agents are scored on it)."""
    screen_size: int = Field(default=10, ge=0)
    """Examples of the screening subset; a candidate goes on to the full search split only when it can
    still beat the current best there (0 disables the cascade)."""
    seed: int = 0
    """Seed of the split, of parent selection and of the bootstrap intervals."""
    generations: int = Field(default=10, ge=0)
    """Generations of candidates to propose after the seeds."""
    parallel: int = Field(default=1, ge=1)
    """Candidates per generation; they are proposed and evaluated at the same time over one client."""
    self_review: int = Field(default=2, ge=0)
    """Self-review rounds after a proposal, each able to revise the agent."""
    review_check: int = Field(default=0, ge=0)
    """Proposals per run whose version before self-review is also scored on the search questions (the
    first ones the review changed), as ``control`` agents that are never selected and never bred from,
    so the report can show whether review helps; 0: none (the version before review is still stored)."""
    debug_attempts: int = Field(default=2, ge=0)
    """Fixes asked for after an error or an all-wrong result; the last fix is evaluated too."""
    proposals: Literal["auto", "code", "workflow", "mixed"] = "auto"
    """What the meta agent writes: free agent ``code`` (ADAS-style), typed ``workflow`` specs of
    operators (see `agentkit.workflow`), or ``mixed`` (alternating, seeded); ``auto`` is ``workflow``
    when the meta model is the embedded ``local`` model and ``mixed`` otherwise. Runs stored before this
    setting existed proposed code, and keep doing so on resume."""
    workflow_focus: bool | None = None
    """Tell each grammar-constrained workflow proposal which operator to start with, by a seeded rotation
    (`agentkit.workflow.FOCUS_OPERATORS`), so that a small meta model explores the operator set instead
    of proposing its favourite composition again; None: on when the meta model is the embedded one."""
    workflow_calls: bool = True
    """Let workflow proposals call archive agents (``call_agent``, ``route``). Off for a meta model that
    would only wrap the agent it is shown (the demo's embedded model); the ensembles built at the end
    combine archive agents either way."""
    workflow_max_calls: int = Field(default=24, ge=2)
    """Most model calls a workflow proposal's own steps may make per question (the agents it calls aside):
    a proposal over it fails the static checks with that message, and the grammar sent to the embedded
    model offers only steps and parameters that stay within it (see `agentkit.workflow.workflow_schema`)."""
    ensemble_max_calls: float | None = Field(default=None, gt=0)
    """Most model calls per question an ensemble may cost, by its members' measured calls per question
    on the search split: members are chosen among the agents that still fit (None: no limit)."""
    ensembles: bool = True
    """At the end of the search, build a vote and a router over the most complementary evaluated agents
    (as workflows), score them on the search split like any candidate, and let the same lower-bound rule
    decide whether one of them is selected."""
    selection: Selection = "complementary"
    """Parent selection: tournament plus a complementary partner, the two best, or random (ablation)."""
    control_share: float = Field(default=0.25, ge=0.0, le=1.0)
    """With complementary selection, the share of candidates (seeded by run seed, generation and slot)
    whose second parent is the random control partner instead of the complementary one, so the report
    can compare what the two kinds of pair gain over their main parent; 0: always complementary."""
    tournament_size: int = Field(default=3, ge=1)
    """Agents drawn for the tournament that picks the first parent."""
    inspirations: int = Field(default=3, ge=0)
    """Further agents shown besides the two parents (best remaining and behaviourally different ones)."""
    seeds: list[str] | None = None
    """Seed agents to start from, by name (file stem in ``archives/seed``); None: all of them."""
    top_k: int = Field(default=3, ge=0)
    """Agents with the best search-split lower bound that are scored once on the sealed test split."""
    concurrency: int = Field(default=8, ge=1)
    """Examples evaluated at the same time per agent. With `parallel` agents evaluated at once it also
    sets the agent and meta models' requests in flight (``concurrency * parallel``, at least 16), unless
    `max_inflight` is given."""
    max_inflight: int | None = Field(default=None, ge=1)
    """Requests in flight at once to each model of the run (None: from `concurrency`, see there)."""
    trace_chars: int = Field(default=2000, ge=0)
    """Characters kept of each prompt and reply in per-example traces."""
    cache: bool = True
    """Use the LLM response cache (a resumed run then replays finished calls for free)."""
    cache_dir: str | None = None
    """Cache directory (None: ``$AGENTKIT_CACHE_DIR`` or ``~/.cache/agentkit``)."""
    progress: bool = True
    """Show live progress on a terminal (never shown when output is not a TTY)."""
    executor: Literal["local", "ray"] = "local"
    """Where examples run: ``local`` (this machine) or ``ray`` (evaluation actors on a Ray cluster, with
    one budget and one reply cache for the cluster; needs ``pip install 'agentkit[ray]'``)."""
    ray_address: str | None = None
    """The Ray cluster of ``executor = "ray"`` (None: ``$RAY_ADDRESS``, else a Ray started locally)."""
    ray_actors: int | None = Field(default=None, ge=1)
    """Evaluation actors of ``executor = "ray"``, each running `concurrency` examples at once (None: one
    per CPU of the cluster)."""

    budget: Budget = Field(default_factory=Budget)
    """Hard limits on what the whole run spends, resumes included: dollars (``max_cost_usd``), model
    requests (``max_calls``) and tokens (``max_tokens``); None: no limit of that kind. A call is booked
    when it ends, so calls in flight when the process is killed (SIGKILL, a lost machine) are not
    counted; a stop by Ctrl-C or SIGTERM books them."""
    prompt: PromptLimits = Field(default_factory=PromptLimits)
    """How much of the archive the meta prompt shows, and its bound."""
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    """Where agent code runs (isolation), how many worker processes, and the limits per example."""
    reflect: ReflectConfig = Field(default_factory=ReflectConfig)
    """Reflection, the rule manual, contrastive pairs and the exploration monitor: the switches of the
    ablations (``reflection``, ``manual``, ``contrastive``, ``monitor``) and their thresholds."""

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        return migrate(data) if isinstance(data, Mapping) else data

    def first_operator(self, generation: int, slot: int, attempt: int = 0) -> str | None:
        """The operator workflow candidate `slot` of `generation` must start with (its fix `attempt`
        moves on to the next), or None when proposals are free (`workflow_focus`)."""
        from agentkit.workflow import FOCUS_OPERATORS, offered_operators

        focus = self.meta_model == "local" if self.workflow_focus is None else self.workflow_focus
        if not focus or self.proposal_form(generation, slot) != "workflow":
            return None
        offered = offered_operators(max_calls=self.workflow_max_calls)
        ops = [op for op in FOCUS_OPERATORS if op in offered]
        return ops[(generation + slot + attempt + self.seed) % len(ops)]

    def proposal_form(self, generation: int, slot: int) -> Literal["code", "workflow"]:
        """What candidate `slot` of `generation` is asked for (seeded, so a resume asks the same)."""
        mode = self.proposals
        if mode == "auto":
            mode = "workflow" if self.meta_model == "local" else "mixed"
        if mode == "mixed":
            return "workflow" if (generation + slot + self.seed) % 2 else "code"
        return mode


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored configuration in today's nested shape: the keys of the flat shape (`FLAT_KEYS`, and
    ``extra["task_options"]`` / ``extra["reflect"]``) move to their sections; a configuration that is
    nested already comes back unchanged. A flat key given beside its nested one wins (it is the newer
    value, e.g. a flat override on top of a nested stored config), except the ``reflection`` and
    ``manual`` switches, which the flat shape held twice and which stay on only when both say on.
    Raises ValueError when ``extra`` holds something the flat shape never stored there."""
    out = dict(data)
    extra = out.pop("extra", None)
    if extra:
        if not isinstance(extra, Mapping):
            raise ValueError(f"'extra' must be a table of settings, not {extra!r}")
        unknown = sorted(set(extra) - set(_EXTRA_KEYS))
        if unknown:
            raise ValueError(f"unknown settings in 'extra': {', '.join(unknown)}")
        if "task_options" in extra:
            _place(out, "task_options", extra["task_options"])
        reflect = extra.get("reflect") or {}
        if not isinstance(reflect, Mapping):
            raise ValueError(f"'extra.reflect' must be a table of settings, not {reflect!r}")
        for key, value in reflect.items():
            _place(out, f"reflect.{key}", value)
    for flat, dotted in FLAT_KEYS.items():
        if flat in out:
            _place(out, dotted, out.pop(flat))
    budget = out.get("budget")
    if isinstance(budget, Mapping):  # Budget itself ignores unknown keys; a typo must not pass silently
        unknown = sorted(set(budget) - set(Budget.model_fields))
        if unknown:
            raise ValueError(f"unknown budget setting(s): {', '.join(unknown)}")
    return out


def _place(out: dict[str, Any], dotted: str, value: Any) -> None:
    """Put a flat setting at its dotted key."""
    head, _, leaf = dotted.partition(".")
    if not leaf:
        out[head] = value
        return
    section = out.get(head)
    if isinstance(section, BaseModel):
        section = section.model_dump()
    elif section is None:
        section = {}
    elif not isinstance(section, Mapping):
        raise ValueError(f"{head!r} must be a table of settings, not {section!r}")
    section = dict(section)
    if dotted in _SWITCHES and leaf in section:
        value = bool(section[leaf]) and bool(value)
    section[leaf] = value
    out[head] = section
