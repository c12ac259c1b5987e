"""`ReflectHooks`: reflection, the rule manual, contrastive pairs and the monitor, plugged into the search
through its hook protocol (`agentkit.search.SearchHooks`).

Where the search calls in, and what happens:
- ``before_generation(g)``: import another run's active rules when ``reflect.manual_from`` names one
  (once per run, `agentkit.reflect._carry`); log the monitor's figures of g-1 if missing (the seeds' generation 0), let
  its rules adjust meta temperature, inspirations and screening size;
- ``manual_text(g)``: the manual of generation g (some rules hidden, seeded) plus, sometimes, a
  contrastive pair; computed once per generation and kept in the archive's state, logged as a ``manual``
  event;
- ``after_evaluation(candidate)``: reflect on it against its main parent, then the builder step;
- ``after_generation(g)``: record each candidate's paired gain over its main parent for every rule shown
  or hidden in g, retire rules whose lift says they hurt or are useless (`agentkit.reflect._lift`) and
  stale ones, activate the generation's new rules, consolidate over the cap, log the monitor's figures
  of g.

The failure policy is the search's, not ours: the search calls these hooks through its
`agentkit.search.HookDispatcher`, which logs a failing hook as a ``hook_error`` event and goes on (a
budget stop passes through). So these methods raise like any code; called directly (as the tests do),
their errors reach the caller.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from agentkit.errors import AgentkitError
from agentkit.reflect._builder import ManualBuilder
from agentkit.reflect._carry import carried_over, import_failed, import_manual, read_manual_source
from agentkit.reflect._config import ReflectConfig
from agentkit.reflect._contrast import contrast_block
from agentkit.reflect._failures import record_failure_lessons
from agentkit.reflect._lift import lift_retirements, record_lift, rule_lifts, slot_agents
from agentkit.reflect._manual import RuleKeeper, formulate, hidden_rules, stale_rules
from agentkit.reflect._monitor import AgentFacts, Decision, MonitorSnapshot, compute_snapshot, decide
from agentkit.reflect._reflection import Reflector

if TYPE_CHECKING:
    from agentkit.archive import Archive
    from agentkit.llm import ModelConfig
    from agentkit.search import CandidateOutcome, GenerationSettings, SearchConfig, SearchContext

MANUAL_STATE = "reflect.manual"
DECISIONS_STATE = "reflect.decisions"
LIFT_STATE = "reflect.lift_done"


def candidate_scores(archive: Archive, generation: int) -> dict[str, float]:
    """The score of each candidate slot of `generation`: its last attempt's search mean (0 when that
    attempt failed before being scored), by agent id."""
    return {
        a.id: (a.search_summary.accuracy.mean if a.search_summary is not None else 0.0)
        for a in slot_agents(archive, generation)
    }


def monitor_history(archive: Archive) -> list[MonitorSnapshot]:
    """The monitor's figures per generation, oldest first (the last event of a generation wins)."""
    by_gen: dict[int, MonitorSnapshot] = {}
    for event in archive.events("monitor"):
        try:
            snap = MonitorSnapshot.model_validate(event.payload)
        except ValueError:
            continue
        by_gen[snap.generation] = snap
    return [by_gen[g] for g in sorted(by_gen)]


def compile_manual(archive: Archive, *, max_chars: int | None = None) -> str:
    """The manual compiled from every active rule of a run (none hidden)."""
    return formulate(archive.rules("active"), max_chars=max_chars).text


def search_hooks(config: SearchConfig) -> ReflectHooks:
    """The hooks for a search run with `config` (settings from its ``reflect`` section); what
    `agentkit.run_search` (and so the command line) runs every search with. The hooks read every
    switch themselves, so an ablation (``reflection=False, manual=False``) still gets the exploration
    monitor's figures for comparison."""
    return ReflectHooks(config.reflect)


class ReflectHooks:
    """The search hooks of `agentkit.reflect`.

    `config` None reads the settings from the run (``SearchConfig.reflect``) at the first call;
    `model` None uses ``config.model`` or else the run's meta model.

    Example (what `agentkit.run_search` does for you):
        >>> await agentkit.search.run_search(config, "archives/run", hooks=ReflectHooks())  # doctest: +SKIP
    """

    def __init__(self, config: ReflectConfig | None = None, *, model: ModelConfig | None = None) -> None:
        self._config = config
        self._model = model

    # --- plumbing ------------------------------------------------------------------------------------------

    def config(self, ctx: SearchContext) -> ReflectConfig:
        """The settings in force (given, or stored with the run)."""
        if self._config is None:
            self._config = ctx.config.reflect
        return self._config

    def model(self, ctx: SearchContext) -> ModelConfig:
        """The reflection model."""
        if self._model is None:
            name = self.config(ctx).model
            if name is None:
                self._model = ctx.meta_model
            else:
                from agentkit.llm import resolve_model

                # as the meta model's: a reflection waits out an outage rather than being lost to it
                settings: dict[str, Any] = {
                    "timeout_s": ctx.config.model_timeout_s,
                    "breaker_give_up_s": None,
                }
                if ctx.config.api_base:
                    settings["api_base"] = ctx.config.api_base
                    if name.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                        settings["api_key"] = "x"
                self._model = resolve_model(name, **settings)
        return self._model

    def seed(self, ctx: SearchContext) -> int:
        """Seed of hiding and contrastive sampling."""
        cfg = self.config(ctx)
        return ctx.config.seed if cfg.seed is None else cfg.seed

    def manual_on(self, ctx: SearchContext) -> bool:
        """Whether rules are built and shown (both the search's and our switch)."""
        return self.config(ctx).manual and ctx.config.reflect.manual

    # --- the hooks ---------------------------------------------------------------------------------------

    async def before_generation(
        self, ctx: SearchContext, generation: int, settings: GenerationSettings
    ) -> GenerationSettings:
        """Import another run's manual if asked and not done yet; log the previous generation's figures
        if missing; apply the monitor's adjustments."""
        self.carry_over(ctx, generation)
        cfg = self.config(ctx)
        if not cfg.monitor:
            return settings
        history = monitor_history(ctx.archive)
        if generation > 0 and not any(s.generation == generation - 1 for s in history):
            self.snapshot(ctx, generation - 1)
            history = monitor_history(ctx.archive)
        if not cfg.adjust:
            return settings
        decision = self.decision(ctx, generation, settings.screen_size, history)
        return self._apply(ctx, generation, settings, decision)

    def manual_text(self, ctx: SearchContext, generation: int) -> str:
        """The manual and contrastive block shown to the meta agent in `generation`."""
        return str(self.manual_state(ctx, generation)["text"])

    async def after_evaluation(self, ctx: SearchContext, candidate: CandidateOutcome) -> None:
        """Reflect on the candidate and run the builder step."""
        cfg = self.config(ctx)
        if not (cfg.reflection and ctx.config.reflect.reflection) or not candidate.parents:
            return  # seeds have no parent to be compared with
        reflector = Reflector(
            ctx.archive, ctx.client, self.model(ctx), cfg, ctx.task, ctx.examples, seed=ctx.config.seed
        )
        builder = ManualBuilder(ctx.archive, ctx.client, self.model(ctx), cfg)
        earlier = ctx.archive.reflections(agent_id=candidate.agent_id)
        if earlier:
            # A resumed run: the reflection is stored; only its builder step may be missing.
            record = earlier[-1]
            if builder.done(record):
                return
            verdict = reflector.verdict(candidate.agent_id)
        else:
            record, verdict = await reflector.reflect(
                candidate.agent_id,
                candidate.generation,
                manual=self._shown_manual(ctx, candidate.generation),
            )
        said = any(record.payload.get(k) for k in ("failure_pattern", "lesson", "first_wrong_step"))
        if self.manual_on(ctx) and said:
            await builder.step(record, verdict)

    async def after_generation(self, ctx: SearchContext, generation: int) -> None:
        """Lift bookkeeping, retirements, activation, consolidation and the monitor's figures."""
        if self.manual_on(ctx):
            record_failure_lessons(ctx.archive, generation)
            await self.upkeep(ctx, generation)
        if self.config(ctx).monitor:
            self.snapshot(ctx, generation)

    # --- the manual --------------------------------------------------------------------------------------

    def manual_state(self, ctx: SearchContext, generation: int) -> dict[str, Any]:
        """The manual of `generation` (text, shown and hidden rule ids), computed once and kept."""
        state = ctx.archive.get_state(MANUAL_STATE)
        if isinstance(state, dict) and state.get("generation") == generation:
            return state
        self.carry_over(ctx, generation)
        cfg = self.config(ctx)
        budget = cfg.manual_chars or ctx.config.prompt.manual_chars
        active = ctx.archive.rules("active") if self.manual_on(ctx) else []
        hidden = hidden_rules(
            [r.id for r in active], generation=generation, seed=self.seed(ctx), share=cfg.hide_share
        )
        formulated = formulate([r for r in active if r.id not in hidden], max_chars=budget)
        text = formulated.text
        contrast = ""
        if cfg.contrastive:
            room = budget - len(text) - 2
            diff_chars = min(cfg.contrast_diff_chars, (room - 800) // 2)
            if diff_chars >= 150:
                contrast = contrast_block(
                    ctx.archive,
                    generation=generation,
                    seed=self.seed(ctx),
                    probability=cfg.contrastive_probability,
                    diff_chars=diff_chars,
                )
                if len(contrast) > room:
                    contrast = ""
        state = {
            "generation": generation,
            "text": "\n\n".join(t for t in (text, contrast) if t),
            "shown": formulated.included,
            "hidden": sorted(hidden),
            "left_out": formulated.left_out,
            "contrast": bool(contrast),
        }
        with ctx.archive.transaction():
            ctx.archive.set_state(MANUAL_STATE, state)
            ctx.archive.log_event("manual", state, generation=generation)
        return state

    def carry_over(self, ctx: SearchContext, generation: int) -> None:
        """Import the active rules of the run named by ``reflect.manual_from``, once per run (before the
        first manual). `agentkit.run_search` checked that run before this one started; should it have
        gone since, the failure is logged in the ``manual_import`` event and the run goes on with its own
        rules only, rather than failing every generation's manual."""
        source = self.config(ctx).manual_from
        if not source or not self.manual_on(ctx) or carried_over(ctx.archive):
            return
        at = max(generation - 1, 0)
        try:
            found = read_manual_source(source)
        except AgentkitError as exc:
            import_failed(ctx.archive, source, exc, generation=at)
            return
        import_manual(ctx.archive, found, generation=at)

    def _shown_manual(self, ctx: SearchContext, generation: int) -> str:
        state = ctx.archive.get_state(MANUAL_STATE)
        if isinstance(state, dict) and state.get("generation") == generation:
            return str(state.get("text", ""))
        return ""

    async def upkeep(self, ctx: SearchContext, generation: int) -> None:
        """End-of-generation work on the rules (safe to repeat: lift is recorded once per generation)."""
        cfg = self.config(ctx)
        archive = ctx.archive
        state = archive.get_state(MANUAL_STATE)
        done = list(archive.get_state(LIFT_STATE) or [])
        if isinstance(state, dict) and state.get("generation") == generation and generation not in done:
            shown, hidden = list(state.get("shown", [])), list(state.get("hidden", []))
            with archive.transaction():
                record_lift(archive, generation, shown=shown, hidden=hidden)
                archive.set_state(LIFT_STATE, [*done, generation][-50:])
        keeper = RuleKeeper(archive, ctx.client, self.model(ctx), cfg)
        lifts = lift_retirements(rule_lifts(archive, cfg, seed=self.seed(ctx)))
        keeper.retire(lifts + stale_rules(archive.rules(), generation, cfg), generation)
        keeper.activate_candidates(generation)
        await keeper.consolidate(generation)

    # --- the monitor -------------------------------------------------------------------------------------

    def snapshot(self, ctx: SearchContext, generation: int) -> MonitorSnapshot:
        """Compute and log (``monitor`` event) the figures of `generation`."""
        archive = ctx.archive
        decisions = archive.get_state(DECISIONS_STATE) or {}
        screen = int(decisions.get(str(generation), {}).get("screen_size", ctx.config.screen_size))
        agents = [
            AgentFacts(
                id=a.id, generation=a.generation, parents=tuple(a.parents), candidate=a.origin == "meta"
            )
            for a in archive.agents()
        ]
        snap = compute_snapshot(
            archive.correctness_matrix("search"),
            [e.id for e in ctx.examples],
            agents,
            generation,
            screen_size=screen,
            balance_target=self.config(ctx).balance_target,
        )
        archive.log_event("monitor", snap.model_dump(mode="json"), generation=generation)
        return snap

    def decision(
        self, ctx: SearchContext, generation: int, base_screen: int, history: list[MonitorSnapshot]
    ) -> Decision:
        """The monitor's decision for `generation` (made once, then kept in the archive's state)."""
        decisions: dict[str, Any] = dict(ctx.archive.get_state(DECISIONS_STATE) or {})
        if str(generation) in decisions:
            d = decisions[str(generation)]
            return Decision(
                level=int(d["level"]), screen_size=int(d["screen_size"]), notes=list(d.get("notes", []))
            )
        prev = decisions.get(str(generation - 1))
        previous = (
            Decision(level=int(prev["level"]), screen_size=int(prev["screen_size"]))
            if prev
            else Decision(level=0, screen_size=base_screen)
        )
        made = decide(
            [s for s in history if s.generation < generation],
            previous=previous,
            base_screen_size=base_screen,
            n_examples=len(ctx.examples),
            config=self.config(ctx),
        )
        decisions[str(generation)] = made.as_dict()
        with ctx.archive.transaction():
            ctx.archive.set_state(DECISIONS_STATE, decisions)
            if made.notes:
                ctx.archive.log_event("monitor_adjust", made.as_dict(), generation=generation)
        return made

    def _apply(
        self, ctx: SearchContext, generation: int, settings: GenerationSettings, decision: Decision
    ) -> GenerationSettings:
        from dataclasses import replace

        cfg = self.config(ctx)
        temperature = settings.meta_temperature
        if decision.level > 0:
            temperature = max(
                temperature,
                min(temperature + cfg.explore_temperature_step * decision.level, cfg.max_meta_temperature),
            )
        screen = decision.screen_size if settings.screen_size > 0 else settings.screen_size
        notes = list(decision.notes)
        if decision.level > 0 and not notes:
            notes.append(f"exploration level {decision.level} (set in an earlier generation)")
        return replace(
            settings,
            meta_temperature=temperature,
            inspirations=settings.inspirations + decision.level,
            screen_size=max(settings.screen_size, screen),
            notes=[*settings.notes, *notes],
        )
