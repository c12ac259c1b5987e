"""The search loop: seeds, generations of candidates, the final scoring on the sealed test split.

Durability: every step of a candidate is one archive transaction that also holds the checkpoint
describing it (`run_state`), so a killed process resumes at the step after the last commit, and
per-example results land one by one, so no finished evaluation is ever run again.

Checkpoint keys in `run_state`:
- ``phase``: ``seeds``, ``search``, ``final`` or ``done``.
- ``status``: ``running``, ``interrupted``, ``budget_exhausted``, ``error`` or ``finished``.
- ``generations_done``: generations fully stored.
- ``generation_state``: the generation in progress: its settings, the cascade bar, and one slot per
  candidate (parents, inspirations, prompt, current attempt and agent id, done flag).
- ``final_summary``: which agent was selected and why (once finished).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel

from agentkit.errors import BudgetExceeded
from agentkit.records import CODE_FAILURE_KINDS, EvalResult, ExampleResult, clip
from agentkit.search._checks import code_problems, duplicate_of
from agentkit.search._config import SearchConfig
from agentkit.search._hooks import CandidateOutcome, GenerationSettings, NoHooks, SearchContext, SearchHooks
from agentkit.search._meta import MetaAgent, Proposal
from agentkit.search._progress import SearchProgress
from agentkit.search._prompt import (
    AgentCard,
    FailureExample,
    PromptLimits,
    build_meta_prompt,
    prompt_tokens,
)
from agentkit.search._selection import ScoredAgent, SelectionResult, select_parents

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.evaluate._runner import AgentRunner
    from agentkit.llm import LLMClient, ModelConfig
    from agentkit.tasks import Example, Task

# Failures that are the agent code's fault and worth showing to the meta agent for a fix.
_SCORED = ("screened", "evaluated")

StopStatus = Literal["finished", "interrupted", "budget_exhausted"]


class SelectedAgent(BaseModel):
    """The agent a run selected, with both of its scores."""

    id: str
    """Archive id."""
    name: str
    """Agent name."""
    search_mean: float
    """Mean accuracy on the search split."""
    search_low: float
    """Lower bound of the search-split interval (what selection ranks by)."""
    search_high: float
    """Upper bound of the search-split interval."""
    test_mean: float | None = None
    """Mean accuracy on the sealed test split (None when it was not scored)."""
    test_low: float | None = None
    """Lower bound of the test-split interval."""
    test_high: float | None = None
    """Upper bound of the test-split interval."""


class SearchOutcome(BaseModel):
    """How a search run ended."""

    run_dir: str
    """The run directory."""
    status: StopStatus
    """finished, interrupted (Ctrl-C) or budget_exhausted."""
    generations_done: int
    """Generations fully stored."""
    agents: int
    """Agents in the archive (every status)."""
    agents_by_status: dict[str, int]
    """Agents per status (proposed, failed, screened, evaluated)."""
    selected: SelectedAgent | None = None
    """The agent chosen by search-split score (None before the final step ran)."""
    reason: str = ""
    """Why that agent was selected, or why the run stopped."""
    spent: dict[str, Any] = {}
    """Calls, tokens and dollars of the whole run (all sessions)."""


def _is_budget_failure(result: ExampleResult) -> bool:
    return (
        result.error is not None and result.error.kind == "llm" and "BudgetExceeded" in result.error.message
    )


class _BudgetWatch:
    """Passes calls to the client and remembers whether the budget refused one (agent code may swallow
    the error, so the evaluation's records alone cannot tell)."""

    def __init__(self, client: LLMClient) -> None:
        self._client = client
        self.exceeded: BudgetExceeded | None = None

    async def complete_fields(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._client.complete_fields(*args, **kwargs)
        except BudgetExceeded as exc:
            self.exceeded = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _BookedClient:
    """Passes calls to the client and books each finished call's usage in the archive at once, so a
    killed process loses from the run's spend (and from its budget) at most the calls in flight."""

    def __init__(self, client: LLMClient, book: Callable[[], None]) -> None:
        self._client = client
        self._book = book

    async def complete(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._client.complete(*args, **kwargs)
        finally:
            self._book()

    async def complete_fields(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._client.complete_fields(*args, **kwargs)
        finally:
            self._book()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _score_line(agent: AgentRecord, split: str = "search") -> str:
    summary = agent.summaries.get(split)
    if summary is None:
        return "not scored"
    a = summary.accuracy
    note = " (screening subset only)" if summary.stopped_early else ""
    return f"{a.mean:.2f} [{a.low:.2f}, {a.high:.2f}] on {summary.n} questions{note}"


def _describe_error(result: ExampleResult, example: Example | None, limit: int) -> str:
    error = result.error
    assert error is not None
    question = clip(example.input, limit) if example else result.example_id
    text = f"Question: {question}\nFailure ({error.kind}): {clip(error.message, limit)}"
    if error.traceback:
        text += f"\nTraceback (end):\n{error.traceback.strip()[-1500:]}"
    return text


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
    ) -> None:
        self.config = config
        self.archive = archive
        self.client = client
        self.runner = runner
        self.agent_model = agent_model
        self.meta_model = meta_model
        self.task = task
        self.examples = search_examples
        self._by_id = {e.id: e for e in search_examples}
        self._rank = {e.id: i for i, e in enumerate(search_examples)}
        self._load_test = load_test
        self.hooks: SearchHooks = hooks or NoHooks()
        self.progress = progress or SearchProgress("off")
        self._generation_now = 0
        """Generation that the usage of the next finished call is booked to."""
        booked = cast("LLMClient", _BookedClient(client, self._book_call))
        self._booked = booked
        self.meta = MetaAgent(
            booked, meta_model, temperature=config.meta_temperature, max_tokens=config.meta_max_tokens
        )
        self.ctx = SearchContext(
            config=config,
            archive=archive,
            client=booked,
            meta_model=meta_model,
            agent_model=agent_model,
            task=task,
            examples=search_examples,
        )
        self._spent_before = dict(spent_before or {})
        self._usage_flushed: dict[str, dict[str, float]] = {}
        self._gen_state: dict[str, Any] = {}
        self._runtime_api: str | None = None

    # --- bookkeeping ------------------------------------------------------------------------------------

    def _model_of_role(self, role: str) -> str:
        return self.agent_model.model if role == "agent" else self.meta_model.model

    def _flush_usage(self, generation: int) -> None:
        """Add the usage since the last flush to the archive (call inside the step's transaction)."""
        for role, stats in self.client.usage().by_role.items():
            now = {
                "calls": stats.calls,
                "prompt_tokens": stats.prompt_tokens,
                "completion_tokens": stats.completion_tokens,
                "cost_usd": stats.cost_usd or 0.0,
            }
            before = self._usage_flushed.get(role, {})
            delta = {k: v - before.get(k, 0) for k, v in now.items()}
            if any(delta.values()):
                self.archive.add_usage(
                    generation,
                    role,
                    self._model_of_role(role),
                    calls=int(delta["calls"]),
                    prompt_tokens=int(delta["prompt_tokens"]),
                    completion_tokens=int(delta["completion_tokens"]),
                    cost_usd=delta["cost_usd"] if stats.cost_usd is not None else None,
                )
            self._usage_flushed[role] = now

    def _book_call(self) -> None:
        with self.archive.transaction():
            self._flush_usage(self._generation_now)

    def spent(self) -> dict[str, Any]:
        """Calls, tokens and dollars of the whole run so far (earlier sessions included)."""
        total = self.client.usage().total
        return {
            "calls": int(self._spent_before.get("calls", 0)) + total.calls,
            "tokens": int(self._spent_before.get("tokens", 0)) + total.total_tokens,
            "cost_usd": float(self._spent_before.get("cost_usd", 0.0)) + (total.cost_usd or 0.0),
        }

    def _spend_line(self) -> str:
        s = self.spent()
        c = self.config
        parts = [
            f"{s['calls']} calls" + (f" / {c.budget_calls}" if c.budget_calls is not None else ""),
            f"{s['tokens']} tokens" + (f" / {c.budget_tokens}" if c.budget_tokens is not None else ""),
            f"${s['cost_usd']:.4f}" + (f" / ${c.budget_usd:g}" if c.budget_usd is not None else ""),
        ]
        return ", ".join(parts)

    def _refresh_progress(self) -> None:
        best = self._best_evaluated()
        self.progress.update(
            best=f"{best.name} ({best.id}): {_score_line(best)}" if best else "-",
            agents=len(self.archive.agents()),
            spend=self._spend_line(),
        )

    def _state(self, key: str, default: Any = None) -> Any:
        return self.archive.get_state(key, default)

    def _save_gen_state(self) -> None:
        self.archive.set_state("generation_state", self._gen_state)

    def _best_evaluated(self) -> AgentRecord | None:
        evaluated = [a for a in self.archive.agents("evaluated") if a.search_summary is not None]
        if not evaluated:
            return None
        return max(evaluated, key=lambda a: _rank_key(a))

    # --- the run ------------------------------------------------------------------------------------------

    async def run(self) -> SearchOutcome:
        """Run (or continue) the search until it finishes, the budget runs out, or it is cancelled."""
        with self.archive.transaction():
            self.archive.set_state("status", "running")
            self.archive.log_event("session_start", {"spent_before": self._spent_before})
        self.progress.update(generations=self.config.generations)
        self.progress.start()
        try:
            status = await self._run_phases()
        except BudgetExceeded as exc:
            status = "budget_exhausted"
            self._stop("budget_exhausted", {"message": str(exc)})
            self.progress.log(f"budget reached: {exc}")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the stop is handled here; cleanup below may still await
            status = "interrupted"
            self._stop("interrupted", {})
            self.progress.log("interrupted: the archive holds everything finished so far")
        except Exception as exc:
            self._stop("error", {"message": f"{type(exc).__name__}: {exc}"})
            raise
        finally:
            self.progress.stop()
        return self.outcome(status)

    def _stop(self, status: str, payload: dict[str, Any]) -> None:
        generation = int(self._state("generations_done", 0)) + 1
        with self.archive.transaction():
            self._flush_usage(generation)
            self.archive.set_state("status", status)
            self.archive.log_event(status, {**payload, "spent": self.spent()})

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
                with self.archive.transaction():
                    self.archive.set_state("phase", "final")
                phase = "final"
                break
            await self._generation(generation)
        if phase in ("final", "done"):
            await self._final()
        return "finished"

    # --- seeds ------------------------------------------------------------------------------------------

    async def _seeds(self) -> None:
        self._generation_now = 0
        self.progress.update(phase="seeds")
        if not self._state("seeded", False):
            seeds = load_seeds(self.config.seeds)
            with self.archive.transaction():
                for seed in seeds:
                    self.archive.add_agent(
                        seed["name"],
                        seed["code"],
                        thought=seed["thought"],
                        generation=0,
                        origin="seed",
                        meta={"seed": seed["key"]},
                    )
                self.archive.set_state("seeded", True)
                self.archive.set_state("phase", "seeds")
                self.archive.log_event("seeds_added", {"seeds": [s["key"] for s in seeds]}, generation=0)
            self.progress.log(f"seeded the archive with {len(seeds)} agents")
        pending = self.archive.agents("proposed", generation=0, origin="seed")
        hooked = self._hooks_done()
        unhooked = [
            a
            for a in self.archive.agents(generation=0, origin="seed")
            if a.status in _SCORED and a.id not in hooked
        ]
        gate = asyncio.Semaphore(self.config.parallel)

        async def one(agent: AgentRecord) -> None:
            async with gate:
                await self._evaluate_candidate(agent, generation=0, bar=None, screen_size=None)

        for agent in unhooked:  # evaluated by a session that stopped before its hooks finished
            await self._after_evaluation(agent, 0, self._stored_result(agent))

        await _run_all([one(a) for a in pending])
        with self.archive.transaction():
            self._flush_usage(0)
            self.archive.set_state("phase", "search")
            self.archive.log_event("seeds_done", {"evaluated": len(pending)}, generation=0)

    # --- generations ------------------------------------------------------------------------------------

    def _pool(self, before_generation: int, *, evaluated_only: bool = False) -> list[ScoredAgent]:
        """Agents with search-split results from earlier generations (fixed for the whole generation);
        with `evaluated_only`, only those scored on the full search split."""
        wanted = ("evaluated",) if evaluated_only else _SCORED
        agents = [
            a
            for a in self.archive.agents()
            if a.generation < before_generation and a.status in wanted and a.search_summary is not None
        ]
        matrix = self.archive.correctness_matrix("search", agent_ids=[a.id for a in agents])
        pool = []
        for a in agents:
            summary = a.search_summary
            assert summary is not None
            pool.append(
                ScoredAgent(
                    id=a.id,
                    name=a.name,
                    low=summary.accuracy.low,
                    mean=summary.accuracy.mean,
                    correct={e: s >= 1.0 for e, s in matrix.get(a.id, {}).items()},
                    generation=a.generation,
                )
            )
        return pool

    async def _generation(self, generation: int) -> None:
        c = self.config
        self._generation_now = generation
        self.progress.update(phase="search", generation=generation)
        state = self._state("generation_state")
        if not state or state.get("generation") != generation:
            settings = GenerationSettings(
                meta_temperature=c.meta_temperature, inspirations=c.inspirations, screen_size=c.screen_size
            )
            settings = await self.hooks.before_generation(self.ctx, generation, settings)
            pool = self._pool(generation)
            best = max(self._pool(generation, evaluated_only=True), key=lambda p: p.key, default=None)
            selections = [
                self.select(pool, generation, slot, settings.inspirations) for slot in range(c.parallel)
            ]
            slots = [
                {
                    "slot": slot,
                    "parents": sel.parents,
                    "inspirations": sel.inspirations,
                    "attempt": 0,
                    "agent_id": None,
                    "prompt": None,
                    "done": False,
                }
                for slot, sel in enumerate(selections)
            ]
            self._gen_state = {
                "generation": generation,
                "bar": best.mean if best else None,
                "best": best.id if best else None,
                "settings": {
                    "meta_temperature": settings.meta_temperature,
                    "inspirations": settings.inspirations,
                    "screen_size": settings.screen_size,
                },
                "slots": slots,
            }
            with self.archive.transaction():
                self.archive.log_event(
                    "generation_start",
                    {**self._gen_state["settings"], "bar": self._gen_state["bar"], "notes": settings.notes},
                    generation=generation,
                )
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
                self._save_gen_state()
        else:
            self._gen_state = state
            self.progress.log(f"resuming generation {generation}")
        self.meta.temperature = float(self._gen_state["settings"]["meta_temperature"])
        await _run_all([self._slot(generation, s) for s in self._gen_state["slots"] if not s["done"]])
        await self.hooks.after_generation(self.ctx, generation)
        leader = self._best_evaluated()
        with self.archive.transaction():
            self._flush_usage(generation)
            self.archive.set_state("generations_done", generation)
            self.archive.set_state("generation_state", None)
            self.archive.log_event(
                "generation_done",
                {
                    "best": leader.id if leader else None,
                    "best_score": _score_line(leader) if leader else None,
                },
                generation=generation,
            )
        self.progress.log(f"generation {generation} done; best {leader.name if leader else '-'}")
        self._refresh_progress()

    def select(
        self, pool: Sequence[ScoredAgent], generation: int, slot: int, inspirations: int
    ) -> SelectionResult:
        """Parents and inspirations of candidate `slot` of `generation` (seeded by both, so a resumed run
        chooses the same)."""
        c = self.config
        return select_parents(
            pool,
            mode=c.selection,
            rng=random.Random(f"agentkit-search/{c.seed}/{generation}/{slot}"),
            tournament_size=c.tournament_size,
            inspirations=inspirations,
        )

    async def _slot(self, generation: int, slot: dict[str, Any]) -> None:
        key = f"g{generation}/{slot['slot']}"
        try:
            while True:
                if slot["agent_id"] is None:
                    self.progress.slot(key, "proposing")
                    await self._propose(generation, slot)
                agent = self.archive.agent(slot["agent_id"])
                if agent.status in _SCORED and agent.id not in self._hooks_done():
                    # Evaluated by a session that stopped before reflecting on it: finish that first.
                    await self._after_evaluation(agent, generation, self._stored_result(agent))
                if agent.status == "proposed":
                    self.progress.slot(key, f"checking {agent.id}")
                    if self._check(agent, generation):
                        self.progress.slot(key, f"evaluating {agent.id}")
                        screen = self._gen_state["settings"]["screen_size"]
                        await self._evaluate_candidate(
                            agent, generation=generation, bar=self._gen_state["bar"], screen_size=screen
                        )
                    agent = self.archive.agent(agent.id)
                error = None if agent.meta.get("duplicate_of") else self._debug_reason(agent)
                if error is None or slot["attempt"] >= self.config.debug_attempts:
                    with self.archive.transaction():
                        slot["done"] = True
                        self._save_gen_state()
                        self.archive.log_event(
                            "candidate_done",
                            {"slot": slot["slot"], "agent": agent.id, "status": agent.status},
                            generation=generation,
                        )
                    return
                self.progress.slot(key, f"fixing {agent.id}")
                await self._fix(generation, slot, agent, error)
        finally:
            self.progress.slot(key, None)

    # --- proposal, review and fixes ---------------------------------------------------------------------

    def _split_order(self, results: Sequence[ExampleResult]) -> list[ExampleResult]:
        """`results` in the order of the search split. The archive holds them in the order they
        finished, which concurrency makes vary: prompts built from them must not, or a resumed or
        repeated run would ask the meta agent something new (a cache miss and a different agent)."""
        rank = self._rank
        return sorted(results, key=lambda r: (rank.get(r.example_id, len(rank)), r.example_id))

    def _runtime_reference(self) -> str:
        if self._runtime_api is None:
            from agentkit._resources import read_prompt

            self._runtime_api = read_prompt("runtime_api.md")
        return self._runtime_api

    def _failures(self, agent: AgentRecord) -> tuple[FailureExample, ...]:
        wanted = self.config.prompt_failures
        if wanted <= 0:
            return ()
        picked: list[FailureExample] = []
        # Prefer agent-code errors first (they teach most), then wrong answers, in split order.
        results = sorted(
            self._split_order(self.archive.results(agent.id, "search")), key=lambda r: r.error is None
        )
        for r in results:
            if r.score >= 1.0 or len(picked) >= wanted:
                continue
            example = self._by_id.get(r.example_id)
            if example is None:
                continue
            picked.append(
                FailureExample(
                    question=example.input,
                    target=example.target,
                    answer=r.answer,
                    error=f"{r.error.kind}: {r.error.message}" if r.error else None,
                )
            )
        return tuple(picked)

    def _cards(self, slot: Mapping[str, Any]) -> list[AgentCard]:
        cards = []
        ids = [*slot["parents"], *slot["inspirations"]]
        for index, agent_id in enumerate(ids):
            agent = self.archive.agent(agent_id)
            is_parent = index < len(slot["parents"])
            label = ("Main parent" if index == 0 else "Partner") if is_parent else "Also shown"
            cards.append(
                AgentCard(
                    id=agent.id,
                    name=agent.name,
                    generation=agent.generation,
                    thought=agent.thought,
                    code=agent.code,
                    score=_score_line(agent),
                    label=label,
                    failures=self._failures(agent) if is_parent else (),
                )
            )
        return cards

    def _partner_gain(self, parents: Sequence[str]) -> int | None:
        """Questions the second parent solves that the first fails (None with fewer than two)."""
        if len(parents) < 2:
            return None
        matrix = self.archive.correctness_matrix("search", agent_ids=list(parents[:2]))
        first, second = matrix.get(parents[0], {}), matrix.get(parents[1], {})
        return sum(1 for e, s in second.items() if s >= 1.0 and e in first and first[e] < 1.0)

    def meta_prompt(self, slot: Mapping[str, Any], generation: int) -> list[dict[str, str]]:
        """The bounded prompt for a candidate with the parents and inspirations of `slot`."""
        c = self.config
        manual = self.hooks.manual_text(self.ctx, generation) if c.manual else ""
        return build_meta_prompt(
            runtime_api=self._runtime_reference(),
            task_description=self.task.description,
            answer_format=self.task.answer_format,
            cards=self._cards(slot),
            manual=manual,
            partner_gain=self._partner_gain(slot["parents"]),
            limits=PromptLimits(
                max_tokens=c.prompt_max_tokens,
                code_chars=c.prompt_code_chars,
                failures=c.prompt_failures,
                example_chars=c.prompt_example_chars,
                manual_chars=c.prompt_manual_chars,
            ),
        )

    @staticmethod
    def _sample_index(generation: int, slot: Mapping[str, Any]) -> int:
        # Distinct cache keys per candidate, the same ones again on resume.
        return generation * 1000 + int(slot["slot"])

    async def _propose(self, generation: int, slot: dict[str, Any]) -> None:
        messages = self.meta_prompt(slot, generation)
        sample = self._sample_index(generation, slot)
        fallback = f"Agent g{generation}-{slot['slot']}"
        proposal = await self.meta.propose(messages, sample_index=sample, fallback_name=fallback)
        reviews: list[tuple[int, Proposal]] = []
        if proposal.code:
            for round_ in range(1, self.config.self_review + 1):
                revised, _ = await self.meta.review(
                    messages, proposal, round=round_, rounds=self.config.self_review, sample_index=sample
                )
                reviews.append((round_, revised))
                if revised.code:
                    proposal = Proposal(
                        thought=revised.thought or proposal.thought,
                        name=revised.name or proposal.name,
                        code=revised.code,
                        raw=revised.raw,
                    )
        with self.archive.transaction():
            agent = self._store_proposal(generation, slot, proposal, attempt=0, fix_of=None)
            for round_, revised in reviews:
                self.archive.add_review(
                    agent.id,
                    round_,
                    "review",
                    prompt_excerpt=f"self-review round {round_} of {self.config.self_review}",
                    reply=revised.raw,
                    error_shown=None,
                )
            slot["agent_id"] = agent.id
            slot["prompt"] = messages
            self._save_gen_state()
            self.archive.log_event(
                "proposed",
                {
                    "slot": slot["slot"],
                    "agent": agent.id,
                    "name": agent.name,
                    "prompt_tokens_estimate": prompt_tokens(messages),
                    "reviews": len(reviews),
                    "problem": proposal.problem,
                },
                generation=generation,
            )
            self._flush_usage(generation)
        self.progress.log(f"g{generation}: proposed {agent.id} {agent.name!r}")

    def _store_proposal(
        self,
        generation: int,
        slot: Mapping[str, Any],
        proposal: Proposal,
        *,
        attempt: int,
        fix_of: str | None,
    ) -> AgentRecord:
        meta: dict[str, Any] = {"slot": slot["slot"], "attempt": attempt}
        if fix_of:
            meta["fix_of"] = fix_of
        if proposal.problem:
            meta["failure"] = proposal.problem
            meta["failure_kind"] = "no code"
            meta["raw_reply"] = clip(proposal.raw, 4000)
        return self.archive.add_agent(
            proposal.name,
            proposal.code,
            thought=proposal.thought,
            parents=slot["parents"],
            generation=generation,
            origin="meta",
            status="failed" if proposal.problem else "proposed",
            meta=meta,
        )

    async def _fix(self, generation: int, slot: dict[str, Any], agent: AgentRecord, error: str) -> None:
        attempt = int(slot["attempt"]) + 1
        current = Proposal(
            thought=agent.thought, name=agent.name, code=agent.code, raw=str(agent.meta.get("raw_reply", ""))
        )
        fixed, _ = await self.meta.fix(
            slot["prompt"],
            current,
            error,
            attempt=attempt,
            attempts=self.config.debug_attempts,
            sample_index=self._sample_index(generation, slot),
        )
        with self.archive.transaction():
            new = self._store_proposal(generation, slot, fixed, attempt=attempt, fix_of=agent.id)
            self.archive.add_review(
                new.id, attempt, "debug", prompt_excerpt=clip(error, 2000), reply=fixed.raw, error_shown=error
            )
            slot["attempt"] = attempt
            slot["agent_id"] = new.id
            self._save_gen_state()
            self.archive.log_event(
                "debug",
                {
                    "slot": slot["slot"],
                    "broken": agent.id,
                    "fix": new.id,
                    "attempt": attempt,
                    "error": clip(error, 500),
                },
                generation=generation,
            )
            self._flush_usage(generation)
        self.progress.log(f"g{generation}: asked for fix {attempt} of {agent.id} -> {new.id}")

    def _check(self, agent: AgentRecord, generation: int) -> bool:
        """Static checks; a failing agent is marked failed with the reason. True when it may run."""
        twin = duplicate_of(self.archive, agent)
        if twin is not None:
            reason = f"duplicate of {twin.id} ({twin.name!r}): the same code up to layout and comments"
            with self.archive.transaction():
                self.archive.update_agent(
                    agent.id,
                    meta={
                        "failure": reason,
                        "failure_kind": f"duplicate of {twin.id}",
                        "duplicate_of": twin.id,
                    },
                )
                self.archive.set_status(agent.id, "failed")
                self.archive.log_event("duplicate", {"agent": agent.id, "of": twin.id}, generation=generation)
            self.progress.log(f"g{generation}: {agent.id} rejected as a duplicate of {twin.id}")
            return False
        problems = code_problems(agent.code)
        if problems:
            reason = "The code failed the static checks:\n" + "\n".join(f"- {p}" for p in problems)
            with self.archive.transaction():
                self.archive.update_agent(agent.id, meta={"failure": reason, "failure_kind": "static check"})
                self.archive.set_status(agent.id, "failed")
                self.archive.log_event(
                    "check_failed", {"agent": agent.id, "problems": problems}, generation=generation
                )
            self.progress.log(f"g{generation}: {agent.id} failed the static checks")
            return False
        return True

    def _debug_reason(self, agent: AgentRecord) -> str | None:
        """What to show the meta agent for a fix, or None when the agent needs none."""
        if agent.status == "failed":
            return str(agent.meta.get("failure") or "the agent failed")
        results = self._split_order(self.archive.results(agent.id, "search"))
        if not results:
            return None
        limit = self.config.prompt_example_chars
        broken = [r for r in results if r.error is not None and r.error.kind in CODE_FAILURE_KINDS]
        if broken:
            first = broken[0]
            head = f"The agent failed on {len(broken)} of {len(results)} questions. The first failure:\n"
            return head + _describe_error(first, self._by_id.get(first.example_id), limit)
        if all(r.score <= 0.0 for r in results):
            lines = [f"The agent ran but answered all {len(results)} questions wrong. For example:"]
            for r in results[:2]:
                example = self._by_id.get(r.example_id)
                question = clip(example.input, limit) if example else r.example_id
                target = example.target if example else "?"
                lines.append(
                    f"- Question: {question}\n  Gold answer: {target}; the agent answered: {r.answer!r}"
                )
                if r.trace:
                    lines.append(f"  Last model reply: {clip(r.trace[-1].reply, limit)}")
            return "\n".join(lines)
        return None

    # --- evaluation ---------------------------------------------------------------------------------------

    async def _evaluate(
        self,
        agent: AgentRecord,
        examples: Sequence[Example],
        *,
        split: str,
        screen_size: int | None,
        bar: float | None,
        generation: int,
    ) -> EvalResult:
        from agentkit.evaluate import evaluate_agent

        done = {r.example_id: r for r in self.archive.results(agent.id, split) if not _is_budget_failure(r)}
        watch = _BudgetWatch(self._booked)

        def on_result(result: ExampleResult) -> None:
            # A result that landed after the budget refused a call may be damaged by it: keep it out of
            # the archive, so a resumed run (with more budget) runs that example again.
            if watch.exceeded is not None or _is_budget_failure(result):
                return
            with self.archive.transaction():
                self.archive.record_results(agent.id, split, [result])
                self._flush_usage(generation)

        result = await evaluate_agent(
            agent.code,
            list(examples),
            self.task,
            client=cast("LLMClient", watch),
            model=self.agent_model,
            runner=self.runner,
            agent_name=agent.name,
            split=split,
            concurrency=self.config.concurrency,
            trace_chars=self.config.trace_chars,
            screen_size=screen_size or None,
            bar=bar,
            done=done,
            on_result=on_result,
            seed=self.config.seed,
        )
        if watch.exceeded is not None or any(_is_budget_failure(r) for r in result.results):
            raise watch.exceeded or BudgetExceeded("the budget refused a model call of the agent")
        return result

    async def _evaluate_candidate(
        self, agent: AgentRecord, *, generation: int, bar: float | None, screen_size: int | None
    ) -> None:
        result = await self._evaluate(
            agent, self.examples, split="search", screen_size=screen_size, bar=bar, generation=generation
        )
        status: Literal["screened", "evaluated"] = "screened" if result.summary.stopped_early else "evaluated"
        acc = result.summary.accuracy
        with self.archive.transaction():
            self.archive.record_evaluation(agent.id, result, split="search", status=status)
            self.archive.log_event(
                "evaluated",
                {
                    "agent": agent.id,
                    "status": status,
                    "n": result.summary.n,
                    "mean": acc.mean,
                    "low": acc.low,
                    "high": acc.high,
                    "error_rate": result.summary.error_rate,
                    "bar": bar,
                },
                generation=generation,
            )
            self._flush_usage(generation)
        self.progress.log(
            f"g{generation}: {agent.id} {agent.name!r} {status}: {acc.mean:.2f} [{acc.low:.2f}, {acc.high:.2f}]"
        )
        self._refresh_progress()
        await self._after_evaluation(self.archive.agent(agent.id), generation, result)

    async def _after_evaluation(self, agent: AgentRecord, generation: int, result: EvalResult) -> None:
        """Run the hooks on a stored evaluation, then mark them done (a resumed run repeats them when
        the mark is missing; the hooks themselves skip what they had finished)."""
        outcome = CandidateOutcome(
            agent_id=agent.id,
            generation=generation,
            parents=list(agent.parents),
            status=agent.status,
            result=result,
            extra={"attempt": agent.meta.get("attempt", 0), "fix_of": agent.meta.get("fix_of")},
        )
        await self.hooks.after_evaluation(self.ctx, outcome)
        with self.archive.transaction():
            self.archive.log_event("hooks_done", {"agent": agent.id}, generation=generation)
            self._flush_usage(generation)

    def _hooks_done(self) -> set[str]:
        """Agents whose after-evaluation hooks have finished."""
        return {str(e.payload.get("agent")) for e in self.archive.events("hooks_done")}

    def _stored_result(self, agent: AgentRecord) -> EvalResult:
        """An agent's search-split evaluation as the archive holds it."""
        summary = agent.search_summary
        assert summary is not None
        return EvalResult(
            agent=agent.name,
            task=self.task.name,
            split="search",
            results=self.archive.results(agent.id, "search"),
            summary=summary,
        )

    # --- the end --------------------------------------------------------------------------------------------

    def _finalists(self) -> list[AgentRecord]:
        evaluated = [a for a in self.archive.agents("evaluated") if a.search_summary is not None]
        return sorted(evaluated, key=_rank_key, reverse=True)[: self.config.top_k]

    async def _final(self) -> None:
        self.progress.update(phase="final test scoring")
        finalists = self._finalists()
        generation = int(self._state("generations_done", 0))
        self._generation_now = generation
        if finalists and self.config.test_size > 0:
            test_examples = self._load_test()
            for agent in finalists:
                if agent.test_summary is not None:
                    continue
                self.progress.slot("test", f"scoring {agent.id} on the test split")
                result = await self._evaluate(
                    agent, test_examples, split="test", screen_size=None, bar=None, generation=generation
                )
                with self.archive.transaction():
                    self.archive.record_evaluation(agent.id, result, split="test")
                    self.archive.log_event(
                        "test_scored",
                        {"agent": agent.id, "mean": result.summary.accuracy.mean, "n": result.summary.n},
                        generation=generation,
                    )
                    self._flush_usage(generation)
                self.progress.slot("test", None)
        selected, reason = self._selection_summary()
        with self.archive.transaction():
            self.archive.set_state("phase", "done")
            self.archive.set_state("status", "finished")
            summary = {"selected": selected.model_dump() if selected else None, "reason": reason}
            self.archive.set_state("final_summary", summary)
            self.archive.log_event(
                "search_finished", {**summary, "spent": self.spent()}, generation=generation
            )
            self._flush_usage(generation)
        self.progress.log(reason)

    def _selection_summary(self) -> tuple[SelectedAgent | None, str]:
        finalists = [self.archive.agent(a.id) for a in self._finalists()]
        if not finalists:
            return None, (
                "No agent was selected: no agent was evaluated on the full search split "
                "(every candidate failed or was stopped at screening)."
            )
        top = finalists[0]
        s = top.search_summary
        assert s is not None
        t = top.test_summary
        selected = SelectedAgent(
            id=top.id,
            name=top.name,
            search_mean=s.accuracy.mean,
            search_low=s.accuracy.low,
            search_high=s.accuracy.high,
            test_mean=t.accuracy.mean if t else None,
            test_low=t.accuracy.low if t else None,
            test_high=t.accuracy.high if t else None,
        )
        n_evaluated = len(self.archive.agents("evaluated"))
        reason = (
            f"Selected {top.id} {top.name!r}: the highest lower bound of the 95% interval on the search "
            f"split ({s.accuracy.low:.2f}; mean {s.accuracy.mean:.2f} on {s.n} questions) among "
            f"{n_evaluated} agents evaluated on the full search split. The test split played no part in "
            "the choice."
        )
        if t is not None:
            reason += (
                f" Scored once on the sealed test split: {t.accuracy.mean:.2f} "
                f"[{t.accuracy.low:.2f}, {t.accuracy.high:.2f}] on {t.n} questions."
            )
        if len(finalists) > 1:
            others = ", ".join(f"{a.id} ({_score_line(a)})" for a in finalists[1:])
            reason += f" Runners-up by search score: {others}."
        return selected, reason

    def outcome(self, status: StopStatus) -> SearchOutcome:
        """The run's outcome as stored in the archive."""
        agents = self.archive.agents()
        by_status: dict[str, int] = {}
        for a in agents:
            by_status[a.status] = by_status.get(a.status, 0) + 1
        final = self._state("final_summary") or {}
        selected = SelectedAgent.model_validate(final["selected"]) if final.get("selected") else None
        if status == "finished":
            reason = str(final.get("reason", ""))
        elif status == "budget_exhausted":
            reason = (
                "The budget ran out; the archive holds everything finished. Resume with a larger budget "
                f"(agentkit search --resume {self.archive.run_dir} --budget-...)."
            )
        else:
            reason = f"Interrupted; continue with: agentkit search --resume {self.archive.run_dir}"
        return SearchOutcome(
            run_dir=str(self.archive.run_dir),
            status=status,
            generations_done=int(self._state("generations_done", 0)),
            agents=len(agents),
            agents_by_status=by_status,
            selected=selected,
            reason=reason,
            spent=self.spent(),
        )


def _rank_key(agent: AgentRecord) -> tuple[float, float, int]:
    summary = agent.search_summary
    assert summary is not None
    # Older agents first among equals: a later copy of the same score does not displace the original.
    return (summary.accuracy.low, summary.accuracy.mean, -_seq(agent.id))


def _seq(agent_id: str) -> int:
    digits = "".join(ch for ch in agent_id if ch.isdigit())
    return int(digits) if digits else 0


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
