"""`RayExecutor`: an evaluation's examples spread over evaluation actors on a Ray cluster.

The driver (the process running the command) keeps everything that must be one: the archive and the
results (only it writes them; actors return results), the cluster's budget (`BudgetLedger`) and the
reply cache (`CacheService`), both actors pinned to the driver's node. Examples go to the least busy
actor with a free slot; each actor runs up to `per_actor` at once in its own sandbox.

An actor that is lost (killed, its node gone) loses only the examples it was running: they are sent
to the other actors, and a replacement actor starts. Examples already returned are kept and never run
again. The reservations the lost actor held at the budget are charged at their worst case.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentkit.distributed._actor import EvalActor
from agentkit.distributed._budget import BudgetLedger, RayBudgetGate
from agentkit.distributed._cache import CacheService, RemoteReplyStore
from agentkit.distributed._ray import connect, is_actor_lost, require_ray
from agentkit.errors import ClusterError, ProviderAuthError

if TYPE_CHECKING:
    from agentkit.evaluate._executor import ResultCallback
    from agentkit.llm import (
        Budget,
        BudgetGate,
        CallListener,
        ModelConfig,
        ModelPause,
        PauseListener,
        ReplyStore,
        UsageReport,
    )
    from agentkit.records import ExampleResult
    from agentkit.sandbox import SandboxConfig
    from agentkit.tasks import Example, Task

_STOP_TIMEOUT_S = 30.0
_PAUSE_POLL_S = 1.0
"""How often the driver asks the actors whether a model paused there (while someone listens)."""


class _Member:
    """One evaluation actor and the examples it runs now."""

    def __init__(self, handle: Any, owner: str) -> None:
        self.handle = handle
        self.owner = owner
        self.load = 0


class RayExecutor:
    """Runs examples on evaluation actors of a Ray cluster (`agentkit.evaluate.ExampleExecutor`).

    Use as ``async with RayExecutor(...) as ex:`` and pass ``executor=ex`` to `Session.open`, so the
    driver's own client shares the cluster's budget and cache too.

    Example:
        >>> async with RayExecutor(sandbox=SandboxConfig(max_examples=4), per_actor=4) as ex:  # doctest: +SKIP
        ...     async with Session.open(model, executor=ex) as s:
        ...         result = await evaluate_agent(code, examples, task, client=s.client, model=s.model,
        ...                                       runner=s.runner, executor=s.executor)
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        actors: int | None = None,
        per_actor: int = 8,
        sandbox: SandboxConfig | None = None,
        isolation: str = "auto",
        cache: bool = True,
        cache_dir: Path | str | None = None,
        budget: Budget | None = None,
        max_replacements: int | None = None,
    ) -> None:
        self.address = address
        self.actors_wanted = actors
        self.per_actor = max(1, per_actor)
        self.isolation = isolation
        self.sandbox = sandbox
        self.cache = cache
        self.cache_dir = cache_dir
        self.budget = budget
        self.max_replacements = max_replacements
        self.isolation_level = "unknown"
        self.budget_gate: BudgetGate | None = None
        self.reply_store: ReplyStore | None = None
        self.replaced = 0
        """Actors started to replace lost ones so far."""
        self._members: list[_Member] = []
        self._ledger: Any = None
        self._cache_service: Any = None
        self._owns_ray = False
        self._run = uuid.uuid4().hex[:8]
        self._ids = itertools.count(1)
        self._free: asyncio.Condition | None = None
        self._actor_class: Any = None
        self._actor_options: dict[str, Any] = {}
        self._listeners: list[CallListener] = []
        self._pause_listeners: list[PauseListener] = []
        self._pause_watch: asyncio.Task[None] | None = None
        self._paused_on: dict[str, set[str]] = {}  # model -> owners of the actors where it is paused
        self._pause_shown: dict[str, float] = {}  # model -> the pause last said

    def add_listener(self, listener: CallListener) -> None:
        """Call `listener` with the `CallRecord` of every model call an actor settles (they come back
        with the results, so calls of an actor lost meanwhile are not heard; the budget charged them)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: CallListener) -> None:
        """Stop calling `listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_pause_listener(self, listener: PauseListener) -> None:
        """Call `listener` when a model pauses on the cluster (its breaker opened on an actor) and when it
        answers again on every actor, as `LLMClient.add_pause_listener` does on one machine. The driver
        asks the actors every second while anyone listens."""
        self._pause_listeners.append(listener)
        if self._pause_watch is None:
            self._pause_watch = asyncio.ensure_future(self._watch_pauses())

    def remove_pause_listener(self, listener: PauseListener) -> None:
        """Stop calling `listener` (the polling stops with the last one)."""
        if listener in self._pause_listeners:
            self._pause_listeners.remove(listener)
        if not self._pause_listeners and self._pause_watch is not None:
            self._pause_watch.cancel()
            self._pause_watch = None

    async def _watch_pauses(self) -> None:
        while True:
            await asyncio.sleep(_PAUSE_POLL_S)
            await self._poll_pauses()

    async def _poll_pauses(self) -> None:
        members = list(self._members)
        asked = await asyncio.gather(*(m.handle.pauses.remote() for m in members), return_exceptions=True)
        for member, pauses in zip(members, asked, strict=True):
            if isinstance(pauses, BaseException):
                continue  # a lost actor: its examples are handled by `_run_one`
            for pause in pauses:
                self._pause_heard(member.owner, pause)

    def _pause_heard(self, owner: str, pause: ModelPause) -> None:
        # Said once for the cluster: when a model first pauses on some actor, when a pause grows longer
        # (a probe failed), and when it answers again on every actor where it had paused.
        where = self._paused_on.setdefault(pause.model, set())
        if pause.paused:
            say = not where or pause.pause_s > self._pause_shown.get(pause.model, 0.0)
            where.add(owner)
            if say:
                self._pause_shown[pause.model] = pause.pause_s
        else:
            say = owner in where and len(where) == 1
            where.discard(owner)
            if say:
                self._pause_shown.pop(pause.model, None)
        if say:
            for listener in tuple(self._pause_listeners):
                listener(pause)

    @property
    def actors(self) -> list[Any]:
        """The Ray handles of the live evaluation actors."""
        return [m.handle for m in self._members]

    async def __aenter__(self) -> RayExecutor:
        ray = require_ray()
        self._owns_ray = connect(self.address)  # on this thread: Ray sets its signal handlers here
        try:
            await self._start(ray)
        except BaseException:
            await self._shutdown(ray)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._shutdown(require_ray())

    async def _start(self, ray: Any) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from agentkit.llm._cache import default_cache_dir
        from agentkit.sandbox import SandboxConfig

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        if self.budget is not None:
            ledger_class = ray.remote(num_cpus=0, max_concurrency=1)(BudgetLedger)
            self._ledger = ledger_class.options(scheduling_strategy=here).remote(self.budget)
            self.budget_gate = RayBudgetGate(self._ledger, "driver")
        if self.cache:
            directory = Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()
            service_class = ray.remote(num_cpus=0, max_concurrency=16)(CacheService)
            self._cache_service = service_class.options(scheduling_strategy=here).remote(str(directory))
            self.reply_store = RemoteReplyStore(self._cache_service)
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        count = self.actors_wanted or max(1, int(cpus))
        settings = self.sandbox or SandboxConfig(max_examples=self.per_actor)
        trusted = self.isolation == "trusted"
        if not trusted:
            settings = settings.model_copy(update={"isolation": self.isolation})
        self._actor_class = ray.remote(EvalActor)
        self._actor_options = {
            "num_cpus": min(1.0, cpus / count),
            "max_concurrency": max(64, self.per_actor * 4),
            "scheduling_strategy": "SPREAD",
        }
        self._settings = {
            "sandbox": settings,
            "trusted": trusted,
            "cache": self.cache,
            "budget": self.budget,
            "ledger": self._ledger,
            "cache_service": self._cache_service,
        }
        if self.max_replacements is None:
            self.max_replacements = 3 * count
        self._free = asyncio.Condition()
        self._members = [self._new_member() for _ in range(count)]
        # Every actor starts its sandbox now, together, before the first example's time runs. One lost
        # on the way (its node gone, or never scheduled) is replaced like one lost later.
        while True:
            members = list(self._members)
            levels = await asyncio.gather(
                *(m.handle.isolation_level.remote() for m in members), return_exceptions=True
            )
            for member, level in zip(members, levels, strict=True):
                if isinstance(level, BaseException):
                    if not is_actor_lost(level):
                        raise level
                    self._lost(member)
            started = [level for level in levels if isinstance(level, str)]
            if len(started) == len(levels):
                self.isolation_level = started[0]
                return

    def _new_member(self) -> _Member:
        owner = f"agentkit-eval-{self._run}-{next(self._ids)}"
        handle = self._actor_class.options(**self._actor_options).remote(owner=owner, **self._settings)
        return _Member(handle, owner)

    async def _shutdown(self, ray: Any) -> None:
        if self._pause_watch is not None:
            self._pause_watch.cancel()
            await asyncio.gather(self._pause_watch, return_exceptions=True)
            self._pause_watch = None
            # What happened since the last poll (a model that answered again just before the end).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._poll_pauses(), _STOP_TIMEOUT_S)
        members, self._members = self._members, []
        if members:
            stops = [
                asyncio.wait_for(asyncio.ensure_future(m.handle.stop.remote()), _STOP_TIMEOUT_S)
                for m in members
            ]
            await asyncio.gather(*stops, return_exceptions=True)
        for handle in [m.handle for m in members] + [self._ledger, self._cache_service]:
            if handle is not None:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(handle)
        self._ledger = self._cache_service = None
        if self._owns_ray:
            self._owns_ray = False
            await asyncio.to_thread(ray.shutdown)

    async def usage(self) -> UsageReport | None:
        """What the whole cluster spent under the shared budget (None without a budget)."""
        if self._ledger is None:
            return None
        report: UsageReport = await self._ledger.report.remote()
        return report

    async def run_examples(
        self,
        code: str,
        examples: Sequence[Example],
        task: Task,
        *,
        model: ModelConfig,
        trace_chars: int,
        on_result: ResultCallback | None,
    ) -> list[ExampleResult]:
        """Run `code` on every example on the actors; results in the order of `examples`."""
        if not examples:
            return []
        ray = require_ray()
        # The task travels once (without its examples, which go one by one).
        task_ref = ray.put(task.model_copy(update={"examples": []}))
        runs = [
            asyncio.ensure_future(self._run_one(code, example, task_ref, model, trace_chars, on_result))
            for example in examples
        ]
        try:
            return list(await asyncio.gather(*runs))
        except BaseException:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            raise

    async def _run_one(
        self,
        code: str,
        example: Example,
        task_ref: Any,
        model: ModelConfig,
        trace_chars: int,
        on_result: ResultCallback | None,
    ) -> ExampleResult:
        while True:
            member = await self._take()
            try:
                outcome = await member.handle.evaluate.remote(code, example, task_ref, model, trace_chars)
            except Exception as exc:
                if not is_actor_lost(exc):
                    raise
                self._lost(member)
                continue  # this example runs again, on another actor
            finally:
                await self._give(member)
            if outcome[0] == "auth":
                _, message, auth_model, status, variable = outcome
                raise ProviderAuthError(message, model=auth_model, status=status, key_variable=variable)
            result: ExampleResult = outcome[1]
            for call in outcome[2]:
                for listener in tuple(self._listeners):
                    listener(call)
            if on_result is not None:
                on_result(result)
            return result

    async def _take(self) -> _Member:
        assert self._free is not None, "use RayExecutor as an async context manager"
        async with self._free:
            while True:
                if not self._members:
                    raise ClusterError("no evaluation actor is left")
                member = min(self._members, key=lambda m: m.load)
                if member.load < self.per_actor:
                    member.load += 1
                    return member
                await self._free.wait()

    async def _give(self, member: _Member) -> None:
        assert self._free is not None
        async with self._free:
            member.load -= 1
            self._free.notify()

    def _lost(self, member: _Member) -> None:
        """Replace a lost actor (once, however many of its examples report it) and charge its
        reservations at the budget."""
        if member not in self._members:
            return
        self._members.remove(member)
        if self._ledger is not None:
            self._ledger.charge_owner.remote(member.owner)
        if self.max_replacements is not None and self.replaced >= self.max_replacements:
            if not self._members:
                raise ClusterError(f"evaluation actors keep getting lost ({self.replaced} replaced)")
            return
        self.replaced += 1
        self._members.append(self._new_member())
