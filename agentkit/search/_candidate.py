"""One candidate's life before and between evaluations: propose it (with self-review rounds), store it,
run the static checks, and when it failed, say why and ask the meta agent for a fix.

Each of these is one step (`RunBook.step`): the stored agent, its reviews, the slot's checkpoint and
the event commit together, so a killed process never leaves an agent without the slot that owns it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agentkit.records import CODE_FAILURE_KINDS, clip
from agentkit.search._checks import code_problems, duplicate_of
from agentkit.search._controls import pre_review_meta, store_review_control
from agentkit.search._meta import MetaAgent, Proposal, ReplyShape
from agentkit.search._prompt import prompt_tokens
from agentkit.search._state import GENERATION_STATE, GenerationState, SlotState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agentkit.archive import AgentRecord, Archive
    from agentkit.records import ExampleResult
    from agentkit.search._book import RunBook
    from agentkit.search._briefing import MetaBriefing
    from agentkit.search._hooks import SearchContext
    from agentkit.search._progress import SearchProgress
    from agentkit.tasks import Example
    from agentkit.workflow import AgentSource


class CandidateLifecycle:
    """Proposal, review, storage, checks and fixes of the candidates of a run."""

    def __init__(
        self,
        ctx: SearchContext,
        book: RunBook,
        briefing: MetaBriefing,
        meta: MetaAgent,
        progress: SearchProgress,
    ) -> None:
        self.config = ctx.config
        self.archive = ctx.archive
        self.book = book
        self.briefing = briefing
        self.meta = meta
        self.progress = progress

    def _save(self, state: GenerationState) -> None:
        self.archive.set_state(GENERATION_STATE, state.dump())

    # --- proposal and fixes ------------------------------------------------------------------------------

    async def propose(
        self, state: GenerationState, slot: SlotState, *, turn: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Ask for a new agent for `slot`, let the meta agent review it, store the result (once `turn`,
        if given, has returned)."""
        generation, rounds = state.generation, self.config.self_review
        messages = self.briefing.meta_prompt(slot, generation)
        sample = slot.sample_index(generation)
        fallback = f"Agent g{generation}-{slot.slot}"
        shape = self._shape(slot, generation, attempt=0)
        proposal = self._rendered(
            await self.meta.propose(messages, sample_index=sample, fallback_name=fallback, shape=shape)
        )
        before = proposal
        reviews: list[tuple[int, Proposal]] = []
        if proposal.code:
            for round_ in range(1, rounds + 1):
                revised, _ = await self.meta.review(
                    messages, proposal, round=round_, rounds=rounds, sample_index=sample, shape=shape
                )
                revised = self._rendered(revised)
                reviews.append((round_, revised))
                if revised.code:
                    proposal = Proposal(
                        thought=revised.thought or proposal.thought,
                        name=revised.name or proposal.name,
                        code=revised.code,
                        raw=revised.raw,
                        form=revised.form,
                        workflow=revised.workflow,
                    )
        if turn is not None:
            await turn()
        with self.book.step(generation, "proposed") as event:
            pre_review = pre_review_meta(before, proposal, len(reviews)) if reviews else None
            agent = self._store(generation, slot, proposal, attempt=0, fix_of=None, pre_review=pre_review)
            for round_, revised in reviews:
                self.archive.add_review(
                    agent.id,
                    round_,
                    "review",
                    prompt_excerpt=f"self-review round {round_} of {rounds}",
                    reply=revised.raw,
                    error_shown=None,
                )
            control = store_review_control(self.archive, self.config, generation, slot, before, agent)
            slot.agent_id, slot.prompt = agent.id, messages
            slot.review_control = control.id if control is not None else None
            self._save(state)
            event.update(
                slot=slot.slot,
                agent=agent.id,
                name=agent.name,
                prompt_tokens_estimate=prompt_tokens(messages),
                reviews=len(reviews),
                problem=proposal.problem,
                review_changed=bool(pre_review and pre_review["changed"]),
                review_control=slot.review_control,
            )
        self.progress.log(f"g{generation}: proposed {agent.id} {agent.name!r}")

    async def fix(self, state: GenerationState, slot: SlotState, agent: AgentRecord, error: str) -> None:
        """Show the meta agent why `agent` failed and store the fixed version as the slot's agent."""
        generation, attempt = state.generation, slot.attempt + 1
        spec = agent.meta.get("workflow")
        current = Proposal(
            thought=agent.thought,
            name=agent.name,
            code=agent.code,
            raw=str(agent.meta.get("raw_reply", "")),
            form=slot.form,
            workflow=spec if isinstance(spec, dict) else None,
        )
        fixed, _ = await self.meta.fix(
            slot.prompt or [],
            current,
            error,
            attempt=attempt,
            attempts=self.config.debug_attempts,
            sample_index=slot.sample_index(generation),
            shape=self._shape(slot, generation, attempt=attempt),
        )
        fixed = self._rendered(fixed)
        payload = {"slot": slot.slot, "broken": agent.id, "attempt": attempt, "error": clip(error, 500)}
        with self.book.step(generation, "debug", payload) as event:
            new = self._store(generation, slot, fixed, attempt=attempt, fix_of=agent.id)
            self.archive.add_review(
                new.id, attempt, "debug", prompt_excerpt=clip(error, 2000), reply=fixed.raw, error_shown=error
            )
            slot.attempt, slot.agent_id = attempt, new.id
            self._save(state)
            event["fix"] = new.id
        self.progress.log(f"g{generation}: asked for fix {attempt} of {agent.id} -> {new.id}")

    # --- workflows -------------------------------------------------------------------------------------

    def _shape(self, slot: SlotState, generation: int, *, attempt: int) -> ReplyShape:
        """What the meta agent replies with for `slot`: its form and, for a workflow, the archive agents
        it may call and the operator it starts with."""
        if slot.form != "workflow":
            return ReplyShape()
        calls = self.briefing.callable_agents(generation) if self.config.workflow_calls else []
        return ReplyShape(
            form="workflow",
            agent_ids=tuple(a.id for a in calls),
            first=self.config.first_operator(generation, slot.slot, attempt),
        )

    def _rendered(self, proposal: Proposal) -> Proposal:
        """A workflow proposal with its code rendered from the spec; a spec that names agents the archive
        does not hold, or costs too many calls, keeps no code and says why (the meta agent is told)."""
        if proposal.form != "workflow" or proposal.problem or proposal.workflow is None:
            return proposal
        from agentkit.workflow import WorkflowSpec, render_workflow, workflow_problems

        spec = WorkflowSpec.model_validate(proposal.workflow)
        if spec.name in {a.name for a in self.archive.agents()}:
            # A small model often reuses a parent's name; the outline keeps the archive's tables readable.
            # The name it copied may carry an outline already; keep one.
            base = re.sub(r"( \([^()]*\)?)+$", "", spec.name) or spec.name
            spec = spec.model_copy(update={"name": f"{base} ({spec.outline()})"[:80]})
            proposal.name, proposal.workflow = spec.name, spec.model_dump(mode="json")
        known = {a.id for a in self.archive.agents("evaluated") if a.origin != "control"}
        problems = workflow_problems(spec, known, max_calls=self.config.workflow_max_calls)
        if problems:
            proposal.problem = "The workflow failed the static checks:\n" + "\n".join(
                f"- {p}" for p in problems
            )
            return proposal
        proposal.code = render_workflow(spec, workflow_sources(self.archive, spec.agent_ids()))
        return proposal

    def _store(
        self,
        generation: int,
        slot: SlotState,
        proposal: Proposal,
        *,
        attempt: int,
        fix_of: str | None,
        pre_review: dict[str, Any] | None = None,
    ) -> AgentRecord:
        meta: dict[str, Any] = {"slot": slot.slot, "attempt": attempt, "form": proposal.form}
        if slot.partner is not None:
            meta["partner"] = slot.partner
        if pre_review is not None:
            meta["pre_review"] = pre_review
        if proposal.workflow is not None:
            meta["workflow"] = proposal.workflow
        if fix_of:
            meta["fix_of"] = fix_of
        if proposal.problem:
            meta["failure"] = proposal.problem
            meta["failure_kind"] = "invalid workflow" if proposal.form == "workflow" else "no code"
            meta["raw_reply"] = clip(proposal.raw, 4000)
        return self.archive.add_agent(
            proposal.name,
            proposal.code,
            thought=proposal.thought,
            parents=slot.parents,
            generation=generation,
            origin="meta",
            status="failed" if proposal.problem else "proposed",
            meta=meta,
        )

    # --- checks ------------------------------------------------------------------------------------------

    def check(self, agent: AgentRecord, generation: int) -> bool:
        """Static checks; a failing agent is marked failed with the reason. True when it may run."""
        twin = duplicate_of(self.archive, agent)
        if twin is not None:
            reason = f"duplicate of {twin.id} ({twin.name!r}): the same code up to layout and comments"
            with self.book.step(generation, "duplicate", {"agent": agent.id, "of": twin.id}):
                self.archive.update_agent(
                    agent.id,
                    meta={
                        "failure": reason,
                        "failure_kind": f"duplicate of {twin.id}",
                        "duplicate_of": twin.id,
                    },
                )
                self.archive.set_status(agent.id, "failed")
            self.progress.log(f"g{generation}: {agent.id} rejected as a duplicate of {twin.id}")
            return False
        problems = code_problems(agent.code)
        if problems:
            reason = "The code failed the static checks:\n" + "\n".join(f"- {p}" for p in problems)
            with self.book.step(generation, "check_failed", {"agent": agent.id, "problems": problems}):
                self.archive.update_agent(agent.id, meta={"failure": reason, "failure_kind": "static check"})
                self.archive.set_status(agent.id, "failed")
            self.progress.log(f"g{generation}: {agent.id} failed the static checks")
            return False
        return True

    def debug_reason(self, agent: AgentRecord) -> str | None:
        """What to show the meta agent for a fix, or None when the agent needs none."""
        if agent.status == "failed":
            return str(agent.meta.get("failure") or "the agent failed")
        results = self.briefing.split_order(self.archive.results(agent.id, "search"))
        if not results:
            return None
        limit = self.config.prompt.example_chars
        by_id = self.briefing.by_id
        broken = [r for r in results if r.error is not None and r.error.kind in CODE_FAILURE_KINDS]
        if broken:
            first = broken[0]
            head = f"The agent failed on {len(broken)} of {len(results)} questions. The first failure:\n"
            return head + describe_error(first, by_id.get(first.example_id), limit)
        if all(r.score <= 0.0 for r in results):
            lines = [f"The agent ran but answered all {len(results)} questions wrong. For example:"]
            for r in results[:2]:
                example = by_id.get(r.example_id)
                question = clip(example.input, limit) if example else r.example_id
                target = example.target if example else "?"
                lines.append(
                    f"- Question: {question}\n  Gold answer: {target}; the agent answered: {r.answer!r}"
                )
                if r.trace:
                    lines.append(f"  Last model reply: {clip(r.trace[-1].reply, limit)}")
            return "\n".join(lines)
        return None


def describe_error(result: ExampleResult, example: Example | None, limit: int) -> str:
    """A failed example as the meta agent sees it: the question, the failure and the traceback's end."""
    error = result.error
    assert error is not None
    question = clip(example.input, limit) if example else result.example_id
    text = f"Question: {question}\nFailure ({error.kind}): {clip(error.message, limit)}"
    if error.traceback:
        text += f"\nTraceback (end):\n{error.traceback.strip()[-1500:]}"
    return text


def workflow_sources(archive: Archive, agent_ids: list[str]) -> dict[str, AgentSource]:
    """The archive agents a workflow calls, as the renderer takes them (name, code, a one-line summary)."""
    from agentkit.workflow import AgentSource

    sources = {}
    for agent_id in agent_ids:
        agent = archive.agent(agent_id)
        summary = next((line.strip() for line in agent.thought.splitlines() if line.strip()), "")
        sources[agent_id] = AgentSource(agent.id, agent.name, agent.code, clip(summary, 120))
    return sources
