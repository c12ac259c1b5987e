"""The typed sections of `SearchConfig` that are not the LLM budget (`agentkit.llm.Budget` is used as it
is): the meta prompt's limits, the sandbox, and the settings of reflection, the rule manual, contrastive
pairs and the exploration monitor.

`ReflectConfig` lives here, not in `agentkit.reflect`, because the search stores it with the run and
must not import the package that reads it; `agentkit.reflect` re-exports it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentkit.sandbox import SandboxConfig

Isolation = Literal["auto", "bwrap", "process", "trusted"]


class PromptLimits(BaseModel):
    """How much of each agent the meta prompt may show, and the bound on the whole prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(default=6000, ge=1000)
    """Upper bound on the meta prompt (estimated as characters / 4); agents shown are trimmed to fit."""
    code_chars: int = Field(default=2400, ge=200)
    """Characters of each shown agent's code kept in the meta prompt."""
    thought_chars: int = Field(default=600, ge=0)
    """Characters of each shown agent's thought (its designer's idea) kept in the meta prompt."""
    failures: int = Field(default=2, ge=0)
    """Failed examples shown per parent."""
    example_chars: int = Field(default=400, ge=50)
    """Characters kept of each shown question, answer or error."""
    manual_chars: int = Field(default=4000, ge=0)
    """Characters kept of the rule manual in the meta prompt."""


class SandboxSettings(SandboxConfig):
    """`agentkit.sandbox.SandboxConfig` (workers and every per-example limit) plus the choice to run
    reviewed agent code in-process (``isolation = "trusted"``)."""

    model_config = ConfigDict(extra="forbid")

    isolation: Isolation = "auto"  # type: ignore[assignment]  # the sandbox's choices plus "trusted"
    """"auto" picks the strongest sandbox that works here, "bwrap" insists on bubblewrap, "process" runs
    workers as plain processes (with seccomp where available); "trusted" runs agent code in the host
    process with the same limits on time only (reviewed code only)."""

    def runner_config(self) -> SandboxConfig:
        """These settings as the sandbox takes them ("trusted" is the runner's choice, not the sandbox's)."""
        values = self.model_dump()
        if values["isolation"] == "trusted":
            values["isolation"] = "auto"
        return SandboxConfig.model_validate(values)


class ReflectConfig(BaseModel):
    """Switches and thresholds of `agentkit.reflect` (every default is documented where it is used)."""

    model_config = ConfigDict(extra="forbid")

    # --- switches (one flag per ablation) ----------------------------------------------------------------
    reflection: bool = True
    """Reflect on every evaluated candidate (off: no reflections, hence no new rules)."""
    manual: bool = True
    """Build the rule manual from reflections and show it to the meta agent."""
    contrastive: bool = True
    """Sometimes show the meta agent one parent-to-child change that raised the score and one that
    lowered it."""
    monitor: bool = True
    """Log the exploration/exploitation figures of every generation (``monitor`` events)."""
    adjust: bool = True
    """Let the monitor's simple rules change the next generation's settings (needs `monitor`)."""

    # --- the reflection model ----------------------------------------------------------------------------
    model: str | None = None
    """Model for reflection, rule building and consolidation (None: the run's meta model)."""
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    """Sampling temperature of those calls (low: they should be analytical, not creative)."""
    max_tokens: int = Field(default=1024, ge=64)
    """Completion token limit of one reflection or builder reply."""
    seed: int | None = None
    """Seed of rule hiding and contrastive sampling (None: the search's seed)."""

    # --- reflection --------------------------------------------------------------------------------------
    examples_per_reflection: int = Field(default=3, ge=1)
    """Failed examples shown per reflection (those the parent solved first, then those nobody solves)."""
    gains_per_reflection: int = Field(default=2, ge=0)
    """For an improvement, examples the child solved and its parent failed, shown as well."""
    noise_alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    """A child differs from its parent beyond noise when the paired test on their shared examples has a
    p-value below this (McNemar's exact test for 0/1 scores)."""
    crash_share: float = Field(default=0.5, gt=0.0, le=1.0)
    """A candidate counts as crashed when at least this share of its examples failed in its own code
    (syntax, exception, timeout, memory, output limit, killed)."""
    code_chars: int = Field(default=3000, ge=200)
    """Characters of agent code shown to the reflection model."""
    example_chars: int = Field(default=600, ge=50)
    """Characters kept of each question, answer and error shown."""
    trace_chars: int = Field(default=1200, ge=0)
    """Characters of each example's model-call trace shown (0: no trace)."""

    # --- the rule manual ---------------------------------------------------------------------------------
    rule_cap: int = Field(default=15, ge=1)
    """Most active rules; beyond it a consolidation step merges rules (fallback: retire the least
    supported)."""
    max_ops_per_reflection: int = Field(default=3, ge=1)
    """Builder operations accepted per reflection; further ones are rejected."""
    max_retires_per_reflection: int = Field(default=1, ge=0)
    """Retire operations accepted per reflection (one bad candidate should not wipe the manual)."""
    rule_text_chars: int = Field(default=400, ge=40)
    """Longest rule text accepted (the manual keeps rule text word for word, so it must stay short)."""
    hide_share: float = Field(default=0.25, ge=0.0, lt=1.0)
    """Each generation every active rule is hidden from the meta prompt with this probability (seeded),
    to measure its lift: the mean paired gain (candidate minus main parent on the same questions) of
    candidates shown the rule minus that of candidates it was hidden from (see `agentkit.reflect._lift`)."""
    lift_min_shown: int = Field(default=5, ge=1)
    """Candidates measured while a rule was shown before its lift may retire it (never fewer than 3)."""
    lift_min_hidden: int = Field(default=5, ge=1)
    """Candidates measured while a rule was hidden before its lift may retire it (never fewer than 3)."""
    lift_min: float = 0.0
    """A rule is retired as harmful when the whole 95% interval of its lift lies below this."""
    lift_band: float = Field(default=0.03, ge=0.0)
    """A rule is retired as useless when, after `lift_patience` measured candidates, the whole interval
    of its lift lies within this distance of zero (0: never retired as useless)."""
    lift_patience: int = Field(default=24, ge=1)
    """Measured candidates (shown and hidden together) before a rule may be retired as useless."""
    stale_generations: int = Field(default=5, ge=1)
    """An ``unresolved_error`` rule not confirmed by new evidence for this many generations expires."""
    manual_chars: int | None = Field(default=None, ge=200)
    """Characters the manual (with a contrastive block) may take (None: the search's
    ``prompt.manual_chars``). Whole rules are left out, never cut, when it does not fit."""
    manual_from: str | None = None
    """A run directory whose active rules start this run's manual (``--manual-from RUN``): they are
    imported once, before the first generation, marked with their origin, and then shown, measured and
    retired like the run's own rules (None: the manual starts empty)."""

    # --- contrastive pairs -------------------------------------------------------------------------------
    contrastive_probability: float = Field(default=0.3, ge=0.0, le=1.0)
    """Chance, per generation, that the meta prompt shows a contrastive pair of changes."""
    contrast_diff_chars: int = Field(default=900, ge=100)
    """Characters of each parent-to-child code diff shown in a contrastive pair."""

    # --- the monitor ---------------------------------------------------------------------------------------
    flat_window: int = Field(default=2, ge=1)
    """Coverage is flat when it grew by at most `flat_coverage_eps` over this many generations."""
    flat_coverage_eps: float = Field(default=0.01, ge=0.0)
    """See `flat_window`."""
    explore_temperature_step: float = Field(default=0.15, ge=0.0)
    """Meta temperature added per exploration level (levels rise while coverage is flat and diversity
    falls, and fall again when coverage grows)."""
    explore_max_level: int = Field(default=3, ge=0)
    """Highest exploration level (each level also adds one inspiration)."""
    max_meta_temperature: float = Field(default=1.3, gt=0.0)
    """The meta temperature is never raised above this."""
    screen_min_correlation: float = Field(default=0.5, ge=-1.0, le=1.0)
    """Screening predicts poorly when the correlation of screen score and full score is below this."""
    screen_min_agents: int = Field(default=4, ge=3)
    """Fully evaluated agents needed before the correlation is trusted."""
    screen_growth: float = Field(default=1.5, gt=1.0)
    """Factor by which a poorly predicting screening subset is enlarged."""
    screen_max_share: float = Field(default=0.5, gt=0.0, le=1.0)
    """The screening subset never grows beyond this share of the search split."""
    balance_target: float = Field(default=0.5, gt=0.0, le=1.0)
    """Share of a generation's candidates that should be both better than their parent and new in
    behaviour for full exploration credit in the balance figure."""
    balance_low: float = Field(default=0.2, ge=0.0, le=1.0)
    """Below this balance (mean over the last `flat_window` generations) the monitor acts on the weaker of
    its two factors: more exploration when better candidates repeat known behaviour, less when few
    candidates beat their parents (see `agentkit.reflect._monitor`)."""
