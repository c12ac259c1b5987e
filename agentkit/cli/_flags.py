"""The one table from command-line flags to configuration keys, and ``--config``.

Every option of ``search``, ``demo``, ``eval`` and ``bench`` is either a setting, listed in `SETTINGS`
with the dotted key of `agentkit.search.SearchConfig` it sets (the key of a ``--config`` TOML file and of
the report's full configuration), or says what to do rather than how the search runs and is listed in
`NOT_SETTINGS`. `given_settings` applies the table; an option in neither list stops the command with an
error, so no flag can be declared and then ignored.

Only flags the user actually gave count: an option left at its default sets nothing, so a value from
``--config`` (or the stored settings of a resumed run) stays in force. ``--config`` is read before the
other options (`CONFIG_FILE`): its values become the defaults of the command's options, so a flag given
as well overrides the file, and ``eval`` and ``bench`` take their settings from it with no code of
their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer


def _same(value: Any) -> Any:
    return value


def _off(flag: bool) -> bool:
    """A ``--no-x`` flag: given, it switches the setting off (and a setting that is off gives it)."""
    return not flag


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _joined(names: list[str]) -> str:
    return ",".join(names)


def _path(value: Path) -> str:
    return str(value)


def _task_options(pairs: list[str]) -> dict[str, Any]:
    from agentkit.cli._options import parse_task_opts

    return parse_task_opts(pairs)


def _pairs(options: dict[str, Any]) -> list[str]:
    return [f"{key}={value}" for key, value in options.items()]


@dataclass(frozen=True)
class Setting:
    """What one option sets: the dotted configuration key, and how the flag's value becomes its value."""

    key: str
    """Dotted key in `SearchConfig`, e.g. ``budget.max_cost_usd``."""
    convert: Callable[[Any], Any] = _same
    """Flag value to configuration value (``--no-cache`` gives True, ``cache`` becomes False)."""
    back: Callable[[Any], Any] = _same
    """Configuration value to flag value: how a ``--config`` file's value becomes the option's default."""


SETTINGS: dict[str, Setting] = {
    # option (the parameter name typer gives it) -> the setting it sets
    "task": Setting("task"),
    "model": Setting("model"),
    "meta_model": Setting("meta_model"),
    "api_base": Setting("api_base"),
    "data_dir": Setting("data_dir", _path, Path),
    "task_opt": Setting("task_options", _task_options, _pairs),
    "generations": Setting("generations"),
    "search_size": Setting("search_size"),
    "test_size": Setting("test_size"),
    "screen_size": Setting("screen_size"),
    "parallel": Setting("parallel"),
    "seed": Setting("seed"),
    "self_review": Setting("self_review"),
    "debug_attempts": Setting("debug_attempts"),
    "selection": Setting("selection"),
    "proposals": Setting("proposals"),
    "no_ensembles": Setting("ensembles", _off, _off),
    "seeds": Setting("seeds", _names, _joined),
    "top_k": Setting("top_k"),
    "concurrency": Setting("concurrency"),
    "max_inflight": Setting("max_inflight"),
    "no_cache": Setting("cache", _off, _off),
    "no_progress": Setting("progress", _off, _off),
    "budget_usd": Setting("budget.max_cost_usd"),
    "budget_calls": Setting("budget.max_calls"),
    "budget_tokens": Setting("budget.max_tokens"),
    "isolation": Setting("sandbox.isolation"),
    "workers": Setting("sandbox.workers"),
    "example_timeout": Setting("sandbox.wall_time_s"),
    "timeout": Setting("sandbox.wall_time_s"),  # `eval` and `bench` name --example-timeout's parameter so
    "no_reflection": Setting("reflect.reflection", _off, _off),
    "no_manual": Setting("reflect.manual", _off, _off),
    "no_contrastive": Setting("reflect.contrastive", _off, _off),
    "no_monitor": Setting("reflect.monitor", _off, _off),
    "reflect_model": Setting("reflect.model"),
    "manual_from": Setting("reflect.manual_from", _path, Path),
    "agent_temperature": Setting("agent_temperature"),
    "agent_max_tokens": Setting("agent_max_tokens"),
    "executor": Setting("executor"),
    "ray_address": Setting("ray_address"),
    "ray_actors": Setting("ray_actors"),
}
"""Every option that is a setting, by parameter name."""

NOT_SETTINGS = frozenset(
    {
        "out",  # where the run or the results go; not a setting of the run
        "resume",
        "config_file",
        "print_config",
        "as_json",
        "agent",  # eval / bench: what is evaluated, and on how many examples
        "agents",
        "limit",
        "tasks",  # bench: several tasks at once (a search has one)
        "judge_model",  # eval / bench: the judge of a judge-scored task (a search has no judge setting yet)
        "judge_samples",
        "run",  # eval --run: the run whose agents are scored
        "price",  # a fact about a model (its price), given per session, not a setting stored with a run
    }
)
"""Options that say what to do rather than how the search runs."""


def flag_of(ctx: typer.Context | None, key: str) -> str | None:
    """The flag given on the command line that set the configuration `key` (e.g. ``--selection``), for
    messages about its value; None when the value came from elsewhere (a ``--config`` file)."""
    if ctx is None:
        return None
    for param in ctx.command.params:
        setting = SETTINGS.get(param.name or "")
        if setting is None or setting.key != key or not param.opts or param.name is None:
            continue
        source = ctx.get_parameter_source(param.name)  # by name, as in `given_settings`
        if source is not None and source.name == "COMMANDLINE":
            return str(max(param.opts, key=len))
    return None


FILE_SETTINGS = "agentkit.config_file"
"""Key in the click context's ``meta`` under which `CONFIG_FILE` keeps the file's whole settings."""


def _read_config(ctx: typer.Context, value: Path | None) -> Path | None:
    """Read the ``--config`` file before the other options: each option that is a setting gets the
    file's value as its default (click's ``default_map``), and the whole file is kept in
    ``ctx.meta[FILE_SETTINGS]`` for a command that takes every setting (``search``)."""
    if value is None or ctx.resilient_parsing:
        return value
    from agentkit.search import read_config_file
    from agentkit.search._config_file import get_path

    data = read_config_file(value)
    ctx.meta[FILE_SETTINGS] = data
    defaults = dict(ctx.default_map or {})
    for param in ctx.command.params:
        setting = SETTINGS.get(param.name or "")
        found = None if setting is None else get_path(data, setting.key)
        if setting is not None and found is not None:
            defaults[param.name or ""] = setting.back(found)
    ctx.default_map = defaults
    return value


CONFIG_FILE = typer.Option(
    None,
    "--config",
    is_eager=True,
    callback=_read_config,
    help="TOML file of settings: the keys of a search's stored configuration (the report's full "
    "configuration; see `agentkit search --print-config`). Flags given as well override it.",
)


def file_settings(ctx: typer.Context) -> dict[str, Any]:
    """The settings of the ``--config`` file of the running command ({} without one)."""
    data: dict[str, Any] = ctx.meta.get(FILE_SETTINGS, {})
    return data


def given_settings(ctx: typer.Context) -> dict[str, Any]:
    """The settings the options of the running command give, nested by dotted key: only options given
    on the command line or by their environment variable (not those left at their default or taking it
    from ``--config``). An option in neither table is a programming error: KeyError."""
    from agentkit.search._config_file import set_path

    out: dict[str, Any] = {}
    for name, value in ctx.params.items():
        if name in NOT_SETTINGS:
            continue
        setting = SETTINGS.get(name)
        if setting is None:
            raise KeyError(f"option {name!r} of `{ctx.info_name}` is neither a setting nor listed as none")
        source = ctx.get_parameter_source(name)  # by name: typer carries its own copy of click
        given = source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")
        if value is None or not given:
            continue
        set_path(out, setting.key, setting.convert(value))
    return out


def layered(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of `layers` merged in order, each on top of the ones before (tables key by key)."""
    from agentkit.search._config_file import merge

    out: dict[str, Any] = {}
    for layer in layers:
        out = merge(out, layer)
    return out
