"""The search loop: its phases (seeds, generations of candidates, the final scoring on the sealed test
split) and their checkpoints. The work inside a phase lives next door: what the meta agent sees in
`_briefing`, one candidate's lifecycle in `_candidate`, scoring in `_scoring`, the end in `_final`,
usage booking and step commits in `_book`, the hooks' failure policy in `_hooks.HookDispatcher`.

Durability: every step of a candidate is one archive transaction that also holds the checkpoint
describing it (`run_state`), so a killed process resumes at the step after the last commit, and
per-example results land one by one, so no finished evaluation is ever run again.

Checkpoint keys in `run_state`:
- ``phase``: ``seeds``, ``search``, ``final`` or ``done``.
- ``status``: ``running``, ``interrupted``, ``budget_exhausted``, ``error`` or ``finished``.
- ``generations_done``: generations fully stored.
- ``generation_state``: the generation in progress (`GenerationState`): its settings, the cascade bar,
  and one slot per candidate (parents, inspirations, prompt, current attempt and agent id, done flag).
- ``ensembles``: ids of the vote and router built from the archive before the final scoring.
- ``final_summary``: which agent was selected and why (`FinalSummary`, once finished).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from agentkit.errors import BudgetExceeded
from agentkit.search._book import RunBook
from agentkit.search._briefing import SCORED, MetaBriefing
from agentkit.search._candidate import CandidateLifecycle
from agentkit.search._config import SearchConfig
from agentkit.search._controls import score_review_control
from agentkit.search._ensembles import ensemble_phase
from agentkit.search._final import SearchOutcome, final_phase, outcome
from agentkit.search._hooks import GenerationSettings, HookDispatcher, NoHooks, SearchContext, SearchHooks
from agentkit.search._meta import MetaAgent
from agentkit.search._progress import SearchProgress
from agentkit.search._scoring import Scoring
from agentkit.search._selection import best_evaluated, score_line
from agentkit.search._state import GENERATION_STATE, GenerationState, SettingsState, SlotState, StopStatus
from agentkit.search._stop import stop_requested

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.evaluate._executor import ExampleExecutor
    from agentkit.evaluate._runner import AgentRunner
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.tasks import Example, Task


class SearchRun:
    """One search run over an open archive and session; `run_search` builds it."""

    def __init__(
        self,
        *,
        config: SearchConfig,
        archive: Archive,
        client: LLMClient,
        runner: AgentRunner,
        agent_model: ModelConfig,
        meta_model: ModelConfig,
        task: Task,
        search_examples: list[Example],
        load_test: Callable[[], list[Example]],
        hooks: SearchHooks | None = None,
        progress: SearchProgress | None = None,
        spent_before: Mapping[str, float] | None = None,
        executor: ExampleExecutor | None = None,
    ) -> None:
        self.config = config
        self.archive = archive
        self.examples = search_examples
        self.progress = progress or SearchProgress("off")
        self._load_test = load_test
        self.ctx = SearchContext(
            config=config,
            archive=archive,
            client=client,
            meta_model=meta_model,
            agent_model=agent_model,
            task=task,
            examples=search_examples,
        )
        self.hooks = HookDispatcher(hooks or NoHooks(), self.ctx)
        self.book = RunBook(archive, client, spent_before=spent_before, executor=executor)
        self.meta = MetaAgent(
            client,
            meta_model,
            temperature=config.meta_temperature,
            max_tokens=config.meta_max_tokens,
            workflow_max_calls=config.workflow_max_calls,
        )
        self.briefing = MetaBriefing(self.ctx, self.hooks.manual_text)
        self.candidates = CandidateLifecycle(self.ctx, self.book, self.briefing, self.meta, self.progress)
        self.scoring = Scoring(self.ctx, self.book, runner, self.hooks, self.progress, self.refresh_progress)

    # --- bookkeeping ------------------------------------------------------------------------------------

    def spent(self) -> dict[str, Any]:
        """Calls, tokens and dollars of the whole run so far (earlier sessions included)."""
        return self.book.spent()

    def refresh_progress(self) -> None:
        """Show the best agent so far, the archive's size and the spend."""
        best = best_evaluated(self.archive)
        self.progress.update(
            best=f"{best.name} ({best.id}): {score_line(best)}" if best else "-",
            agents=len(self.archive.agents()),
            spend=self.book.spend_line(self.config),
        )

    def _state(self, key: str, default: Any = None) -> Any:
        return self.archive.get_state(key, default)

    def _save(self, state: GenerationState) -> None:
        self.archive.set_state(GENERATION_STATE, state.dump())

    # --- the run ------------------------------------------------------------------------------------------

    async def run(self) -> SearchOutcome:
        """Run (or continue) the search until it finishes, the budget runs out, or it is cancelled."""
        with self.book.attached():
            self.book.commit(
                None, "session_start", {"spent_before": self.book.spent_before}, state={"status": "running"}
            )
            self.progress.update(generations=self.config.generations)
            self.progress.start()
            try:
                status = await self._run_phases()
            except BudgetExceeded as exc:
                status = "budget_exhausted"
                self._stop("budget_exhausted", {"message": str(exc)})
                self.progress.log(f"budget reached: {exc}")
            except asyncio.CancelledError:
                self._stop("interrupted", {})
                self.progress.log("interrupted: the archive holds everything finished so far")
                if not stop_requested():
                    raise  # the caller's own cancellation (a timeout, a task group): theirs to see
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()  # the stop is handled here; cleanup below may still await
                status = "interrupted"
            except Exception as exc:
                self._stop("error", {"message": f"{type(exc).__name__}: {exc}"})
                raise
            finally:
                self.progress.stop()
        return outcome(self.archive, status, self.spent())

    def _stop(self, status: str, payload: dict[str, Any]) -> None:
        self.book.commit(None, status, {**payload, "spent": self.spent()}, state={"status": status})

    async def _run_phases(self) -> StopStatus:
        phase = self._state("phase", "seeds")
        if phase == "done" and int(self._state("generations_done", 0)) < self.config.generations:
            phase = "search"  # the run was extended with more generations
        if phase == "seeds":
            await self._seeds()
            phase = "search"
        while phase == "search":
            generation = int(self._state("generations_done", 0)) + 1
            if generation > self.config.generations:
                self.book.commit(None, state={"phase": "final"})
                phase = "final"
                break
            await self._generation(generation)
        if phase in ("final", "done"):
            await ensemble_phase(
                self.config, self.archive, self.book, self.scoring, self.progress, self.examples
            )
            await final_phase(
                self.config, self.archive, self.book, self.scoring, self.progress, self._load_test
            )
        return "finished"

    # --- seeds ------------------------------------------------------------------------------------------

    async def _seeds(self) -> None:
        self.book.generation = 0
        self.progress.update(phase="seeds")
        if not self._state("seeded", False):
            seeds = load_seeds(self.config.seeds)
            keys = {"seeds": [s["key"] for s in seeds]}
            with self.book.step(0, "seeds_added", keys, state={"seeded": True, "phase": "seeds"}):
                for seed in seeds:
                    self.archive.add_agent(
                        seed["name"],
                        seed["code"],
                        thought=seed["thought"],
                        generation=0,
                        origin="seed",
                        meta={"seed": seed["key"]},
                    )
            self.progress.log(f"seeded the archive with {len(seeds)} agents")
        pending = self.archive.agents("proposed", generation=0, origin="seed")
        hooked = self.scoring.hooks_done()
        unhooked = [
            a
            for a in self.archive.agents(generation=0, origin="seed")
            if a.status in SCORED and a.id not in hooked
        ]
        gate = asyncio.Semaphore(self.config.parallel)

        async def one(agent: AgentRecord) -> None:
            async with gate:
                await self.scoring.candidate(agent, generation=0, bar=None, screen_size=None)

        for agent in unhooked:  # evaluated by a session that stopped before its hooks finished
            await self.scoring.finish_hooks(agent, 0)

        await _run_all([one(a) for a in pending])
        self.book.commit(0, "seeds_done", {"evaluated": len(pending)}, state={"phase": "search"})

    # --- generations ------------------------------------------------------------------------------------

    async def _generation(self, generation: int) -> None:
        self.book.generation = generation
        self.progress.update(phase="search", generation=generation)
        state = GenerationState.load(self._state(GENERATION_STATE), generation)
        if state is None:
            state = await self._start_generation(generation)
        else:
            self.progress.log(f"resuming generation {generation}")
        self.meta.temperature = state.settings.meta_temperature
        # Proposals are stored in slot order, whatever order the meta agent's replies arrive in: the
        # ids they get are in the next prompts, so a rerun (or one whose calls were retried) sends the
        # same prompts, hits the same cache entries and, with a deterministic meta model, proposes alike.
        stored = {s.slot: asyncio.Event() for s in state.slots}
        for s in state.slots:
            if s.agent_id is not None:
                stored[s.slot].set()
        await _run_all([self._slot(state, s, stored) for s in state.slots if not s.done])
        await self.hooks.after_generation(generation)
        leader = best_evaluated(self.archive)
        self.book.commit(
            generation,
            "generation_done",
            {"best": leader.id if leader else None, "best_score": score_line(leader) if leader else None},
            state={"generations_done": generation, GENERATION_STATE: None},
        )
        self.progress.log(f"generation {generation} done; best {leader.name if leader else '-'}")
        self.refresh_progress()

    async def _start_generation(self, generation: int) -> GenerationState:
        """Let the hooks set the generation's settings, select parents for every slot, store it all."""
        c = self.config
        settings = GenerationSettings(
            meta_temperature=c.meta_temperature, inspirations=c.inspirations, screen_size=c.screen_size
        )
        settings = await self.hooks.before_generation(generation, settings)
        pool = self.briefing.pool(generation)
        best = max(self.briefing.pool(generation, evaluated_only=True), key=lambda p: p.key, default=None)
        selections = [
            self.briefing.select(pool, generation, slot, settings.inspirations) for slot in range(c.parallel)
        ]
        state = GenerationState(
            generation=generation,
            bar=best.mean if best else None,
            best=best.id if best else None,
            settings=SettingsState.of(settings),
            slots=[
                SlotState(
                    slot=slot,
                    parents=sel.parents,
                    inspirations=sel.inspirations,
                    form=self.config.proposal_form(generation, slot),
                    partner=sel.partner,
                )
                for slot, sel in enumerate(selections)
            ],
        )
        start = {**state.settings.model_dump(), "bar": state.bar, "notes": settings.notes}
        with self.book.step(generation, state={GENERATION_STATE: state.dump()}):
            self.archive.log_event("generation_start", start, generation=generation)
            for slot, sel in enumerate(selections):
                self.archive.log_event(
                    "selection",
                    {
                        "slot": slot,
                        "mode": sel.mode,
                        "parents": sel.parents,
                        "inspirations": sel.inspirations,
                        "control_partner": sel.control_partner,
                        **sel.details,
                    },
                    generation=generation,
                )
        return state

    async def _slot(self, state: GenerationState, slot: SlotState, stored: dict[int, asyncio.Event]) -> None:
        """Carry one candidate through proposal, checks, evaluation and fixes to a stored end."""
        generation = state.generation
        key = f"g{generation}/{slot.slot}"
        earlier = [event for number, event in stored.items() if number < slot.slot]

        async def turn() -> None:
            for event in earlier:
                await event.wait()

        try:
            while True:
                if slot.agent_id is None:
                    self.progress.slot(key, "proposing")
                    try:
                        await self.candidates.propose(state, slot, turn=turn)
                    finally:
                        stored[slot.slot].set()
                assert slot.agent_id is not None
                agent = self.archive.agent(slot.agent_id)
                if agent.status in SCORED and agent.id not in self.scoring.hooks_done():
                    # Evaluated by a session that stopped before reflecting on it: finish that first.
                    await self.scoring.finish_hooks(agent, generation)
                if agent.status == "proposed":
                    self.progress.slot(key, f"checking {agent.id}")
                    if self.candidates.check(agent, generation):
                        self.progress.slot(key, f"evaluating {agent.id}")
                        await self.scoring.candidate(
                            agent,
                            generation=generation,
                            bar=state.bar,
                            screen_size=state.settings.screen_size,
                        )
                    agent = self.archive.agent(agent.id)
                # A duplicate of code is not worth a fix (the meta agent would only rephrase it); a
                # duplicate workflow is one reply away from a different composition.
                copy = agent.meta.get("duplicate_of") and slot.form == "code"
                error = None if copy else self.candidates.debug_reason(agent)
                if error is None or slot.attempt >= self.config.debug_attempts:
                    if slot.review_control is not None:
                        self.progress.slot(key, f"scoring {slot.review_control} (before review)")
                        await score_review_control(
                            self.archive, self.book, self.scoring, self.progress, state, slot
                        )
                    done = {"slot": slot.slot, "agent": agent.id, "status": agent.status}
                    with self.book.step(generation, "candidate_done", done):
                        slot.done = True
                        self._save(state)
                    return
                self.progress.slot(key, f"fixing {agent.id}")
                await self.candidates.fix(state, slot, agent, error)
        finally:
            self.progress.slot(key, None)


async def _run_all(jobs: Sequence[Awaitable[None]]) -> None:
    """Run jobs concurrently; the first error (or a cancellation) cancels the rest, which are awaited
    before it is raised, so no job is left writing after the caller has moved on."""
    tasks = [asyncio.ensure_future(j) for j in jobs]
    if not tasks:
        return
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    errors = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
    budget = [e for e in errors if isinstance(e, BudgetExceeded)]
    if budget:
        raise budget[0]
    if errors:
        raise cast(BaseException, errors[0])


def load_seeds(names: Sequence[str] | None) -> list[dict[str, str]]:
    """The seed agents (files in ``archives/seed``) as dicts with key (file stem), name, thought and code;
    only `names` (stems), in that order, when given."""
    from agentkit.evaluate import resolve_agent, seed_names

    known = seed_names()
    if names is not None:
        missing = [n for n in names if n not in known]
        if missing:
            from agentkit.errors import ConfigError

            raise ConfigError(
                f"unknown seed agents: {', '.join(missing)}; known: {', '.join(known) or '(none)'}"
            )
    seeds = []
    for key in known if names is None else names:
        spec = resolve_agent(key)
        seeds.append({"key": key, "name": spec.name, "thought": spec.thought, "code": spec.code})
    return seeds
