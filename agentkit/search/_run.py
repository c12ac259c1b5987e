"""Starting and resuming a search: open the archive, load and split the task, set up the client, the
budget (what earlier sessions spent counts against it) and the sandbox, then run the loop."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import signal
import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentkit.errors import ConfigError, SearchError
from agentkit.search._changes import RESUMABLE_OVERRIDES, real_changes, refused_changes
from agentkit.search._config import SearchConfig, migrate
from agentkit.search._config_file import set_path
from agentkit.search._final import SearchOutcome
from agentkit.search._hooks import SearchHooks
from agentkit.search._loop import SearchRun, load_seeds
from agentkit.search._progress import SearchProgress
from agentkit.search._state import SlotState
from agentkit.search._stop import request_stop

if TYPE_CHECKING:
    from agentkit.archive import Archive
    from agentkit.llm import Budget, LLMClient, ModelConfig, ModelPause
    from agentkit.tasks import Task, TaskSplit

T = TypeVar("T")


HookFactory = Callable[[SearchConfig], SearchHooks]
"""Builds a run's hooks from its configuration (what a resumed run needs: its config is in the archive)."""


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for dist in ("agentkit", "litellm", "pydantic"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = None
    return found


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def load_search_task(config: SearchConfig) -> tuple[Task, TaskSplit]:
    """The task of a run and its seeded search/test split."""
    from agentkit.tasks import load_task, split_task

    options: dict[str, Any] = dict(config.task_options)
    if config.task.startswith("gen/") and "size" not in options:
        options["size"] = max(100, config.search_size + config.test_size)
    kwargs: dict[str, Any] = {}
    if config.task_split:
        kwargs["split"] = config.task_split
    if config.data_dir:
        kwargs["data_dir"] = Path(config.data_dir)
    task = load_task(config.task, **kwargs, **options)
    split = split_task(task, search_size=config.search_size, test_size=config.test_size, seed=config.seed)
    return task, split


def model_configs(config: SearchConfig) -> tuple[ModelConfig, ModelConfig]:
    """The agent model and the meta model of a run."""
    from agentkit.llm import inflight_limit, resolve_model

    # Every model of the run gets the same limit: configs of one model share one limiter, which takes
    # the limit of whichever call came last.
    inflight = inflight_limit(config.concurrency * config.parallel, config.max_inflight)

    def common(name: str) -> dict[str, Any]:
        settings: dict[str, Any] = {"timeout_s": config.model_timeout_s, "max_concurrency": inflight}
        if config.api_base:
            settings["api_base"] = config.api_base
            # Self-hosted OpenAI-compatible servers (llama.cpp, vLLM, test servers) accept any key, but
            # the client library insists on one; a real key in the environment still wins.
            if name.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                settings["api_key"] = "x"
        return settings

    agent_settings = common(config.model)
    if config.agent_temperature is not None:
        agent_settings["temperature"] = config.agent_temperature
    if config.agent_max_tokens is not None:
        agent_settings["max_tokens"] = config.agent_max_tokens
    agent = resolve_model(config.model, **agent_settings)
    meta = resolve_model(
        config.meta_model,
        **common(config.meta_model),
        temperature=config.meta_temperature,
        max_tokens=config.meta_max_tokens,
        # A meta call that gave up on a model down for a minute would be a lost proposal: it waits for
        # the model to answer again (agent calls give up, and their examples run again later)
        breaker_give_up_s=None,
    )
    return agent, meta


def needed_models(config: SearchConfig) -> list[ModelConfig]:
    """Every model a run calls, for the key check before it starts: the agent and meta models, and the
    reflection model when reflection or the manual is on and it is not the meta model."""
    from agentkit.llm import resolve_model

    models = list(model_configs(config))
    reflect = config.reflect
    if reflect.model is not None and (reflect.reflection or reflect.manual):
        base = {"api_base": config.api_base} if config.api_base else {}
        models.append(resolve_model(reflect.model, **base))
    return models


async def _warm_up(models: list[ModelConfig]) -> None:
    """Load the model library before any agent runs, when one of `models` needs it: its import takes
    seconds, and an agent's wall-time limit should not pay for it on the first example."""
    with contextlib.suppress(Exception):
        from agentkit.llm import _litellm
        from agentkit.llm._endpoints import uses_litellm

        if any(uses_litellm(model) for model in models):
            await _litellm.ensure_litellm()


def _spent(archive: Archive) -> dict[str, float]:
    """What the run has spent so far; `cost_usd` counts priced calls only, `unpriced_calls` the rest."""
    from agentkit.archive import EVAL_USAGE_ROLE

    calls = tokens = unpriced = 0
    cost = 0.0
    for role, totals in archive.usage_by_role().items():
        if role == EVAL_USAGE_ROLE:
            continue  # scoring the run's agents afterwards (eval --run) is not the search's spending
        calls += totals.calls
        tokens += totals.prompt_tokens + totals.completion_tokens
        cost += totals.cost_usd or 0.0
        unpriced += totals.unpriced_calls
    return {"calls": calls, "tokens": tokens, "cost_usd": cost, "unpriced_calls": unpriced}


def remaining_budget(config: SearchConfig, spent: dict[str, float]) -> Budget | None:
    """The budget left for this session: the run's limits minus what earlier sessions spent."""
    from agentkit.llm import Budget

    limit = config.budget
    if limit.max_cost_usd is None and limit.max_calls is None and limit.max_tokens is None:
        return None
    return Budget(
        max_cost_usd=None if limit.max_cost_usd is None else max(0.0, limit.max_cost_usd - spent["cost_usd"]),
        max_calls=None if limit.max_calls is None else max(0, limit.max_calls - int(spent["calls"])),
        max_tokens=None if limit.max_tokens is None else max(0, limit.max_tokens - int(spent["tokens"])),
    )


def _not_a_search(run_dir: Path, stored: dict[str, Any]) -> str:
    message = (
        f"{run_dir} is not the archive of a search run (no search settings stored), so it cannot be resumed"
    )
    if stored.get("source") == "adas-import":
        files = sorted((run_dir / "agents").glob("*.py"))
        example = files[0] if files else run_dir / "agents" / "<file>.py"
        task = stored.get("task") or "<task>"
        message += (
            f". It holds agents imported from ADAS: evaluate one with `agentkit eval --agent {example} "
            f"--task {task}`, or several with `agentkit bench --agents <file>,<file> --task {task}`"
        )
    return message


def _open_archive(
    config: SearchConfig | None, run_dir: Path, overrides: dict[str, Any] | None
) -> tuple[Archive, SearchConfig]:
    from agentkit.archive import Archive

    # One run, one writer: the run's lock is taken before anything is written and held until
    # `run_search` closes the archive (or the process dies); a second search or resume gets RunLocked.
    if config is not None:
        archive = Archive.create(
            run_dir,
            {
                "kind": "search",
                "search": config.model_dump(mode="json"),
                "versions": _versions(),
                "git_revision": _git_revision(),
            },
            lock=True,
        )
        return archive, config
    archive = Archive.open(run_dir, lock=True)
    try:
        stored = archive.config.get("search")
        if not isinstance(stored, dict):
            raise SearchError(_not_a_search(run_dir, archive.config))
        changes = real_changes(stored, overrides or {})
        refused = refused_changes(changes)
        if refused:
            raise ConfigError(
                f"a resumed run keeps its settings; cannot change {', '.join(refused)} "
                f"(changeable: {', '.join(sorted(RESUMABLE_OVERRIDES))})"
            )
        settings = migrate(stored)
        # Runs stored before these settings existed proposed code, built no ensembles, never bred from the
        # random control partner and scored no proposal before review; keep it so.
        before = {"proposals": "code", "ensembles": False, "control_share": 0.0, "review_check": 0}
        settings = before | settings
        for key, value in changes.items():
            set_path(settings, key, value)
        resumed = SearchConfig.model_validate(settings)
        if changes:
            archive.update_config({"search": resumed.model_dump(mode="json")})
            archive.log_event("config_changed", changes)
        return archive, resumed
    except BaseException:
        archive.close()
        raise


async def run_search(
    config: SearchConfig | None,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overrides: dict[str, Any] | None = None,
    hooks: SearchHooks | None = None,
    hook_factory: HookFactory | None = None,
    progress: SearchProgress | None = None,
    client: LLMClient | None = None,
) -> SearchOutcome:
    """Start a search in a new `run_dir` with `config`, or with `resume=True` continue the one there
    (its stored settings, with the allowed `overrides` such as more generations or a larger budget).

    This is the engine: it runs with exactly the hooks it is given. `hooks` plug in reflection and the
    manual (default: none, the bare search); `hook_factory` builds them from the run's config instead
    (what a resumed run needs, since its config is read from the archive). For the full method (with
    reflection, the rule manual and the monitor, as `agentkit search` runs it) call
    `agentkit.run_search`, which builds those hooks from the config.

    Stops when the generations are done (then the top agents by search score are scored once on the
    sealed test split), when the budget runs out, or when cancelled; each stop leaves a consistent
    archive that `resume=True` continues. A cancellation (a timeout, a task group) is recorded as an
    interrupted run and then raised as usual; under `run_sync`, Ctrl-C returns the outcome with
    status "interrupted" instead.

    Example (the bare search, e.g. to compare against the full method):
        >>> from agentkit.search import NoHooks, SearchConfig, run_search
        >>> config = SearchConfig(task="gen/arithmetic", generations=3)
        >>> outcome = await run_search(config, "archives/bare", hooks=NoHooks())  # doctest: +SKIP
        >>> outcome.selected.name  # doctest: +SKIP
    """
    from agentkit.evaluate._session import Session
    from agentkit.llm import LLMClient, check_models, prepare_models

    if config is not None and not isinstance(config, SearchConfig):
        raise TypeError(
            "config must be a SearchConfig (SearchConfig.model_validate(settings) makes one from a dict), "
            f"not {type(config).__name__}"
        )
    run_dir = Path(run_dir)
    if resume and config is not None:
        raise ConfigError("give either a config (new run) or resume=True (stored config), not both")
    if not resume and config is None:
        raise ConfigError("a new search needs a SearchConfig")
    loaded: tuple[Task, TaskSplit] | None = None
    if config is not None:
        # Settings that cannot work are refused before the run directory exists: an archive left by a
        # start that failed could be neither resumed (settings are fixed) nor started over (it exists).
        prepare_models(model_configs(config))  # litellm's import, if needed, overlaps with the loading
        loaded = load_search_task(config)
        load_seeds(config.seeds)
        check_models(needed_models(config))  # a key not set, a server not running: refused here
        if config.budget.max_cost_usd is not None:
            from agentkit.llm import check_budget

            check_budget(config.budget, needed_models(config))  # a dollar limit needs every price
    archive, config = _open_archive(None if resume else config, run_dir, overrides)
    prepare_models(model_configs(config))  # a resumed run's models are known from here on
    try:
        if hooks is None and hook_factory is not None:
            hooks = hook_factory(config)
        task, split = loaded or load_search_task(config)
        ids = [e.id for e in split.search]
        stored_ids = archive.get_state("search_ids")
        if stored_ids is None:
            archive.set_state("search_ids", ids)
            archive.set_state("test_ids", split.test_ids)
        elif stored_ids != ids:
            raise SearchError(
                f"{run_dir}: the task no longer yields the same search split (its data changed?); cannot resume"
            )
        spent = _spent(archive)
        agent_model, meta_model = model_configs(config)
        check_models(needed_models(config))
        own_client = client is None
        # With executor = "ray", the agents' examples run on a Ray cluster, whose budget ledger and reply
        # cache the driver's client (the meta agent's calls) shares.
        cluster = await _open_cluster(config, remaining_budget(config, spent), given_client=not own_client)
        if client is None:
            client = LLMClient(
                cache=config.cache,
                cache_dir=config.cache_dir,
                budget=remaining_budget(config, spent),
                budget_gate=cluster.budget_gate if cluster is not None else None,
                reply_store=cluster.reply_store if cluster is not None else None,
            )
        progress = progress or SearchProgress("off")
        shown = progress

        def paused(pause: ModelPause) -> None:
            shown.log(pause.describe())

        client.add_pause_listener(paused)  # "model X not answering, pausing Ns" in the progress display
        await _warm_up([agent_model, meta_model])
        try:
            async with Session.open(
                agent_model,
                isolation=config.sandbox.isolation,
                sandbox=config.sandbox.runner_config(),
                cache=config.cache,
                cache_dir=config.cache_dir,
                client=client,
                executor=cluster,
            ) as session:
                run = SearchRun(
                    config=config,
                    archive=archive,
                    client=client,
                    runner=session.runner,
                    agent_model=session.model,
                    meta_model=meta_model,
                    task=task,
                    search_examples=list(split.search),
                    load_test=lambda: split.load_sealed_test(confirm="test"),
                    hooks=hooks,
                    progress=progress,
                    spent_before=spent,
                    executor=session.executor,
                )
                if session.executor is not None:  # pauses on the cluster's actors, as the driver polls them
                    session.executor.add_pause_listener(paused)
                if session.isolation_level:
                    archive.log_event("isolation", {"level": session.isolation_level})
                    progress.log(f"sandbox isolation: {session.isolation_level}")
                return await run.run()
        finally:
            client.remove_pause_listener(paused)
            if own_client:
                await client.aclose()
            if cluster is not None:
                await cluster.__aexit__(None, None, None)
    finally:
        archive.close()


async def _open_cluster(config: SearchConfig, budget: Budget | None, *, given_client: bool) -> Any:
    """The started Ray executor of a search with ``executor = "ray"`` (None: examples run here)."""
    if config.executor == "local":
        return None
    if given_client:
        raise ConfigError('a search with executor = "ray" makes its own client (give none)')
    from agentkit.distributed import RayExecutor

    executor = RayExecutor(
        address=config.ray_address,
        actors=config.ray_actors,
        per_actor=config.concurrency,
        sandbox=config.sandbox.runner_config(),
        isolation=config.sandbox.isolation,
        cache=config.cache,
        cache_dir=config.cache_dir,
        budget=budget,
    )
    return await executor.__aenter__()


def offline_run(archive: Archive, config: SearchConfig, *, hooks: SearchHooks | None = None) -> SearchRun:
    """A search run over `archive` that can select parents and build meta prompts but has no client,
    model or sandbox: for looking at what the search would do, never for running it."""
    task, split = load_search_task(config)
    none: Any = None
    return SearchRun(
        config=config,
        archive=archive,
        client=none,
        runner=none,
        agent_model=none,
        meta_model=none,
        task=task,
        search_examples=list(split.search),
        load_test=list,
        hooks=hooks,
    )


def preview_meta_prompt(
    archive: Archive,
    *,
    generation: int | None = None,
    slot: int = 0,
    hooks: SearchHooks | None = None,
) -> list[dict[str, str]]:
    """The meta prompt the search would send for candidate `slot` of `generation` (default: the next
    one) of the run in `archive`, without calling any model. For checking its size on big archives."""
    stored = archive.config.get("search")
    if not isinstance(stored, dict):
        raise SearchError(f"{archive.run_dir} is not the archive of a search run")
    config = SearchConfig.model_validate(stored)
    briefing = offline_run(archive, config, hooks=hooks).briefing
    if generation is None:
        generation = int(archive.get_state("generations_done", 0)) + 1
    selection = briefing.select(briefing.pool(generation), generation, slot, config.inspirations)
    candidate = SlotState(slot=slot, parents=selection.parents, inspirations=selection.inspirations)
    return briefing.meta_prompt(candidate, generation)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What asks a search under `run_sync` to stop: Ctrl-C, and SIGTERM (what `timeout`, `docker stop`,
Slurm and systemd send first)."""


def run_sync(coro: Coroutine[Any, Any, T], *, stopped_by: list[int] | None = None) -> T:
    """Run `coro` in a fresh event loop where Ctrl-C or SIGTERM asks it to stop (a search then
    returns an "interrupted" outcome, its archive consistent) instead of ending the process at an
    arbitrary point. A second signal of the same kind acts at once (KeyboardInterrupt for Ctrl-C, the
    default end for SIGTERM). The signals that asked for the stop are appended to `stopped_by`."""

    async def main() -> T:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            loop.remove_signal_handler(signum)
            if stopped_by is not None:
                stopped_by.append(signum)
            request_stop(task)

        installed: list[tuple[int, Any]] = []
        for signum in STOP_SIGNALS:
            earlier = signal.getsignal(signum)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, on_signal, signum)
                installed.append((signum, earlier))
        try:
            return await task
        finally:
            for stop_signal, earlier in installed:
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(stop_signal)
                # (asyncio leaves the default behind; a caller's own handler comes back)
                if earlier is not None:
                    with contextlib.suppress(Exception):
                        signal.signal(stop_signal, earlier)

    return asyncio.run(main())
