"""`agentkit search` (Meta Agent Search) and `agentkit demo` (a short real search on the local model)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentkit.cli import _flags as flags
from agentkit.cli import _options as opt
from agentkit.cli._app import app
from agentkit.cli._cluster import EXECUTOR, RAY_ACTORS, RAY_ADDRESS
from agentkit.cli._interrupt import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from agentkit.search import SearchConfig, SearchOutcome


def _default_run_dir(task: str) -> Path:
    slug = "".join(ch if ch.isalnum() else "-" for ch in task).strip("-") or "run"
    return Path("archives") / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def _finish(outcome: SearchOutcome, *, as_json: bool, stop_exit: int = EXIT_INTERRUPTED) -> None:
    from rich.text import Text

    from agentkit.cli._console import plain_console

    console = plain_console()
    if as_json:
        typer.echo(json.dumps(outcome.model_dump(mode="json"), indent=2))
    else:
        from agentkit.report import open_run, render_table, run_table, write_report

        with open_run(outcome.run_dir) as archive:
            # (the lines below say how it ended and how to go on; the table need not say it again)
            console.print(render_table(run_table(archive).model_copy(update={"status": None})))
        spent = outcome.spent
        console.print(
            Text(outcome.status, style="bold"),
            f"after {outcome.generations_done} generation{'s' * (outcome.generations_done != 1)}; "
            f"{outcome.agents} agents ({', '.join(f'{k}: {v}' for k, v in sorted(outcome.agents_by_status.items()))}); "
            f"spent {spent.get('calls', 0)} calls, {spent.get('tokens', 0)} tokens, {_cost_text(spent)}",
        )
        console.print(outcome.reason, highlight=False)
        console.print(f"run directory: {outcome.run_dir}")
        try:
            console.print(f"report: {write_report(outcome.run_dir)}")
        except KeyboardInterrupt:
            # The run itself is complete and stored; only its report.html is missing.
            console.print(
                f"interrupted while writing the report; write it with: agentkit report {outcome.run_dir}",
                style="yellow",
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if outcome.status == "interrupted":
        raise typer.Exit(stop_exit)


def _cost_text(spent: dict[str, Any]) -> str:
    """The run's dollars as the summary line says them: unknown when no call had a price (not $0)."""
    unpriced = int(spent.get("unpriced_calls", 0) or 0)
    if unpriced and unpriced >= int(spent.get("calls", 0) or 0):
        return "cost unknown (no model it called has a known price)"
    cost = f"${float(spent.get('cost_usd', 0.0) or 0.0):.4f}"
    if unpriced:
        cost += f" (and {unpriced} calls to models with no known price: their cost is unknown)"
    return cost


def _execute(
    config: SearchConfig | None,
    run_dir: Path,
    *,
    resume: bool,
    overrides: dict[str, Any] | None,
    progress: bool,
    as_json: bool,
    prices: list[str] | None = None,
) -> None:
    with opt.given_prices(prices or []):
        # (a dollar budget that cannot price every model is refused by run_search, before the run exists)
        _run(config, run_dir, resume=resume, overrides=overrides, progress=progress, as_json=as_json)


def _run(
    config: SearchConfig | None,
    run_dir: Path,
    *,
    resume: bool,
    overrides: dict[str, Any] | None,
    progress: bool,
    as_json: bool,
) -> None:
    import asyncio

    from agentkit._api import run_search
    from agentkit.search import SearchProgress, run_sync

    if resume and overrides:
        _say_resume_changes(run_dir, overrides)
    reporter = SearchProgress.auto(progress and not as_json)
    stopped_by: list[int] = []
    try:
        # The same function a Python user calls: the full method, ablations as settings.
        outcome = run_sync(
            run_search(config, run_dir, resume=resume, overrides=overrides, progress=reporter),
            stopped_by=stopped_by,
        )
    except asyncio.CancelledError:
        # Ctrl-C before the loop took over (while starting); nothing was half-written.
        print(f"interrupted; continue with: agentkit search --resume {run_dir}", file=sys.stderr)
        raise typer.Exit(_stop_exit(stopped_by)) from None
    except KeyboardInterrupt:
        # A second Ctrl-C: stopped at once, without the summary; what was stored is kept.
        print(
            f"interrupted at once (a second Ctrl-C); what was stored is kept: "
            f"continue with: agentkit search --resume {run_dir}",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _finish(outcome, as_json=as_json, stop_exit=_stop_exit(stopped_by))


def _say_resume_changes(run_dir: Path, overrides: dict[str, Any]) -> None:
    """One line on stderr naming the settings a resume changes, old and new (they were taken in silence;
    the stored configuration then showed only the new values). Nothing when the run cannot be read:
    the resume itself says why."""
    from agentkit.errors import AgentkitError
    from agentkit.report import open_run
    from agentkit.search import refused_changes, resume_changes

    try:
        with open_run(run_dir) as archive:
            stored = archive.config.get("search")
            done = int(archive.get_state("generations_done", 0) or 0)
        changes = resume_changes(stored, overrides) if isinstance(stored, dict) else {}
    except (AgentkitError, ValueError, TypeError):
        return
    if not changes or refused_changes(changes):  # (a refused change: the resume says so itself)
        return
    said = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in sorted(changes.items()))
    note = ""
    new_generations = changes.get("generations", (None, None))[1]
    if isinstance(new_generations, int) and new_generations <= done:
        note = f" ({done} generation(s) are done already: no further one will run)"
    print(f"resuming {run_dir} with changed settings: {said}{note}", file=sys.stderr)


def _stop_exit(stopped_by: list[int]) -> int:
    """The exit status of a search that was asked to stop: 128 + the signal that asked, as shells
    report a process that signal ended (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + stopped_by[0] if stopped_by else EXIT_INTERRUPTED


_PRINT_CONFIG = typer.Option(
    False,
    "--print-config",
    help="Print the settings in force as TOML (a file for agentkit search --config) and exit without running.",
)
_NO_REFLECTION = typer.Option(False, "--no-reflection", help="Do not reflect on candidates (ablation).")
_NO_MANUAL = typer.Option(False, "--no-manual", help="Show the meta agent no rule manual (ablation).")
_NO_CONTRASTIVE = typer.Option(
    False, "--no-contrastive", help="Never show the meta agent a better/worse change pair (ablation)."
)
_NO_MONITOR = typer.Option(
    False, "--no-monitor", help="Do not log or act on the exploration monitor (ablation)."
)
_REFLECT_MODEL = typer.Option(
    None,
    "--reflect-model",
    help="Model for reflection and the rule manual (default: the meta agent's model).",
)
_MANUAL_FROM = typer.Option(
    None,
    "--manual-from",
    help="Start the rule manual from the active rules of another run (this directory); they are marked "
    "as imported and measured and retired like the run's own.",
)
_SELECTION = typer.Option(
    None, "--selection", help="Parent selection: complementary (default), best, random (ablations)."
)
_NO_PROGRESS = typer.Option(False, "--no-progress", help="No live progress display.")
_PROPOSALS = typer.Option(
    None,
    "--proposals",
    help="What the meta agent writes: code, workflow (typed operator specs) or mixed "
    "(default: workflow for the local model, mixed otherwise).",
)
_NO_ENSEMBLES = typer.Option(
    False, "--no-ensembles", help="Build no vote or router over the archive's best agents at the end."
)


def _validated(settings: dict[str, Any], ctx: typer.Context | None = None) -> SearchConfig:
    from pydantic import ValidationError

    from agentkit.errors import ConfigError
    from agentkit.search import SearchConfig

    try:
        return SearchConfig.model_validate(settings)
    except ValidationError as exc:
        problems = "; ".join(_problem(error, ctx) for error in exc.errors())
        raise ConfigError(f"invalid search settings: {problems}") from exc
    except ValueError as exc:
        raise ConfigError(f"invalid search settings: {exc}") from exc


def _problem(error: Any, ctx: typer.Context | None) -> str:
    """One validation error as a user reads it: the flag (or the config key) and what it must be."""
    key = ".".join(str(part) for part in error.get("loc", ()))
    where = flags.flag_of(ctx, key) or key
    given = error.get("input")
    shown = f" (got {given!r})" if key and isinstance(given, str | int | float | bool) else ""
    message = str(error.get("msg", "invalid"))
    return f"{where}: {message}{shown}" if where else message


def _print_config(config: SearchConfig, command: str) -> None:
    from agentkit.search import to_toml

    header = (
        f"Settings of `agentkit {command}`; run them with: agentkit search --config FILE\n"
        "(flags given as well override the file; the keys are those of the report's full configuration)"
    )
    typer.echo(to_toml(config, header=header), nl=False)


def _resumed(run_dir: Path, overrides: dict[str, Any]) -> SearchConfig:
    """The stored settings of the run in `run_dir` with `overrides` on top (for --print-config; the
    resume itself refuses changes to settings a resumed run keeps)."""
    from agentkit.errors import SearchError
    from agentkit.report import open_run
    from agentkit.search import migrate
    from agentkit.search._config_file import merge

    with open_run(run_dir) as archive:
        stored = archive.config.get("search")
    if not isinstance(stored, dict):
        raise SearchError(f"{run_dir} is not the archive of a search run")
    return _validated(merge(migrate(stored), overrides))


@app.command()
def search(
    ctx: typer.Context,
    task: str | None = typer.Option(
        None, "--task", "-t", help="Task: gsm8k, mgsm, bbh/<task>, gen/<kind>, jsonl:<path>."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Agent model: litellm 'provider/name' or 'local' (default without a key)."
    ),
    meta_model: str | None = typer.Option(
        None, "--meta-model", help="Model of the meta agent that writes agents (default: --model)."
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", help="OpenAI-compatible base URL used for both models (e.g. a local server)."
    ),
    generations: int | None = typer.Option(None, "--generations", "-g", help="Generations after the seeds."),
    search_size: int | None = typer.Option(None, "--search-size", help="Examples in the search split."),
    test_size: int | None = typer.Option(None, "--test-size", help="Examples in the sealed test split."),
    screen_size: int | None = typer.Option(
        None, "--screen-size", help="Screening subset of the cascade (0: always the full search split)."
    ),
    parallel: int | None = typer.Option(
        None, "--parallel", "-p", help="Candidates per generation, in flight at once."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run directory (default archives/<task>-<time>)."
    ),
    resume: Path | None = typer.Option(None, "--resume", help="Continue the run in this directory."),
    config_file: Path | None = flags.CONFIG_FILE,
    print_config: bool = _PRINT_CONFIG,
    budget_usd: float | None = typer.Option(
        None,
        "--budget-usd",
        help="Hard limit on dollars for the run, resumes included (calls in flight when a run is killed "
        "cannot be booked: stop it with Ctrl-C or SIGTERM to keep the count exact).",
    ),
    budget_calls: int | None = typer.Option(
        None, "--budget-calls", help="Hard limit on model requests (as --budget-usd)."
    ),
    budget_tokens: int | None = typer.Option(
        None, "--budget-tokens", help="Hard limit on tokens (as --budget-usd)."
    ),
    price: list[str] = opt.PRICE,
    seed: int | None = typer.Option(None, "--seed", help="Seed of the split, selection and intervals."),
    isolation: str | None = typer.Option(
        None, "--isolation", help="auto | bwrap | process | trusted (in-process, reviewed code only)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the LLM response cache."),
    self_review: int | None = typer.Option(None, "--self-review", help="Self-review rounds per proposal."),
    debug_attempts: int | None = typer.Option(
        None, "--debug-attempts", help="Fixes asked for after an error."
    ),
    selection: str | None = _SELECTION,
    proposals: str | None = _PROPOSALS,
    no_ensembles: bool = _NO_ENSEMBLES,
    seeds: str | None = typer.Option(None, "--seeds", help="Comma-separated seed agents to start from."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="AGENTKIT_DATA_DIR", help="Folder with local task data."
    ),
    task_opt: list[str] = opt.TASK_OPTS,
    example_timeout: float | None = typer.Option(
        None, "--example-timeout", help="Wall-time limit of one agent run on one example, in seconds."
    ),
    workers: int | None = typer.Option(None, "--workers", help="Sandbox worker processes."),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-c",
        help="Examples evaluated at once per agent; with --parallel, also the models' requests in flight.",
    ),
    max_inflight: int | None = typer.Option(
        None, "--max-inflight", min=1, help="Requests in flight to each model (default: from --concurrency)."
    ),
    agent_temperature: float | None = opt.AGENT_TEMPERATURE,
    agent_max_tokens: int | None = opt.AGENT_MAX_TOKENS,
    top_k: int | None = typer.Option(
        None, "--top-k", help="Top agents (by search score) scored on the test split."
    ),
    no_reflection: bool = _NO_REFLECTION,
    no_manual: bool = _NO_MANUAL,
    no_contrastive: bool = _NO_CONTRASTIVE,
    no_monitor: bool = _NO_MONITOR,
    reflect_model: str | None = _REFLECT_MODEL,
    manual_from: Path | None = _MANUAL_FROM,
    no_progress: bool = _NO_PROGRESS,
    executor: str = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
    ray_actors: int | None = RAY_ACTORS,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Discover agents for a task with Meta Agent Search (resumable; Ctrl-C stops cleanly).

    Every setting flag sets one key of the run's configuration (`agentkit.cli._flags.SETTINGS`); a
    --config file gives the rest, and on --resume the run's stored settings do.
    """
    from agentkit.errors import ConfigError

    settings = flags.layered(flags.file_settings(ctx), flags.given_settings(ctx))
    if resume is not None:
        if out is not None and out.resolve() != resume.resolve():
            raise ConfigError("--resume continues the run where it is; do not give --out as well")
        if print_config:
            _print_config(_resumed(resume, settings), "search")
            return
        # Settings a resumed run keeps may be given again unchanged; a change to one is refused.
        progress = bool(settings.get("progress", True))
        _execute(
            None, resume, resume=True, overrides=settings, progress=progress, as_json=as_json, prices=price
        )
        return
    if "task" not in settings:
        raise ConfigError(
            "--task is required for a new search (or `task` in the --config file, or --resume RUN_DIR)"
        )
    opt.check_api_base(settings.get("model"), settings.get("api_base"))
    if "model" not in settings:
        from agentkit.llm import resolve_model

        settings["model"] = resolve_model(None).model
    settings.setdefault("meta_model", settings["model"])
    config = _validated(settings, ctx)
    if print_config:
        _print_config(config, "search")
        return
    _execute(
        config,
        out or _default_run_dir(config.task),
        resume=False,
        overrides=None,
        progress=config.progress,
        as_json=as_json,
        prices=price,
    )


def demo_config() -> SearchConfig:
    """Settings of `agentkit demo`: a real but short search on the embedded local model."""
    from agentkit.search import SearchConfig

    # Boolean expressions: short answers keep the tiny model fast, and it gets about half of them right,
    # so the seed scores above zero and a better workflow has room to show. The model proposes workflows
    # (its grammar makes every reply parse). The embedded server answers one call at a time, so time is
    # calls: a workflow may cost 6 per question, an ensemble 5, agent replies 256 tokens, and reflection
    # replies stay short. Measured: with workflows of 5 to 14 calls and long reflections, 34 minutes
    # (the test suite running beside it); quiet, with five generations and 12 search questions, 12.8
    # and 13.3 (the proposals decide: a run of 2-call workflows is faster than one of 5-call ones).
    return SearchConfig.model_validate(
        {
            "task": "gen/boolean",
            "task_options": {"difficulty": 1},
            "model": "local",
            "meta_model": "local",
            "proposals": "workflow",
            "workflow_calls": False,
            "workflow_max_calls": 6,
            # Answers are a word; 256 tokens leave room for reasoning and stop a reply that never ends
            # (a router's one-word choice ran to the model's 1024 tokens on most questions).
            "agent_max_tokens": 256,
            "ensemble_max_calls": 5,
            "generations": DEMO_GENERATIONS,
            "search_size": 10,
            "test_size": 16,
            "screen_size": 4,
            "parallel": 1,
            "self_review": 0,
            "debug_attempts": 1,
            "seeds": ["cot"],
            "meta_max_tokens": 400,
            "model_timeout_s": 120.0,
            "top_k": 1,
            # The embedded server answers one request at a time: more examples in flight would only
            # queue there, and the queueing would count against each example's wall-time limit.
            "concurrency": 1,
            "prompt": {"max_tokens": 1800, "code_chars": 600, "manual_chars": 800, "failures": 1},
            "sandbox": {"wall_time_s": 300.0, "workers": 2},
            # Reflection prompts are mostly prompt tokens, which a CPU reads slowly: show less of each.
            "reflect": {
                "max_tokens": 200,
                "code_chars": 800,
                "example_chars": 200,
                "trace_chars": 300,
                "examples_per_reflection": 2,
            },
        }
    )


DEMO_GENERATIONS = 4
"""Generations of `agentkit demo` (one workflow proposal each)."""


@app.command()
def demo(
    ctx: typer.Context,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run directory (default archives/demo-<time>)."
    ),
    print_config: bool = _PRINT_CONFIG,
    generations: int = typer.Option(
        DEMO_GENERATIONS, "--generations", "-g", help="Generations after the seeds."
    ),
    selection: str | None = _SELECTION,
    proposals: str | None = _PROPOSALS,
    no_ensembles: bool = _NO_ENSEMBLES,
    no_reflection: bool = _NO_REFLECTION,
    no_manual: bool = _NO_MANUAL,
    no_contrastive: bool = _NO_CONTRASTIVE,
    no_monitor: bool = _NO_MONITOR,
    reflect_model: str | None = _REFLECT_MODEL,
    no_progress: bool = _NO_PROGRESS,
) -> None:
    """A short real search on a generated task with the embedded local model (no key, no network).

    The 135M-parameter model cannot write agent code, so the demo asks it for workflows (typed
    compositions of operators, constrained by a grammar so every reply parses), scores them in the
    sandbox, builds a vote and a router from the archive, and ends with the selected agent against the
    seed on the sealed test split, saying plainly whether the search beat it this time.
    """
    config = _validated(flags.layered(demo_config().model_dump(mode="json"), flags.given_settings(ctx)))
    if print_config:
        _print_config(config, "demo")
        return
    run_dir = out or Path("archives") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    typer.echo(f"agentkit demo: {config.generations} generations on {config.task} with the local model")
    typer.echo(f"run directory: {run_dir}")
    _execute(config, run_dir, resume=False, overrides=None, progress=config.progress, as_json=False)
