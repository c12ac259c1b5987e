"""The one table from command-line flags to configuration keys.

Every option of ``search``, ``demo``, ``eval`` and ``bench`` is either a setting, listed in `SETTINGS`
with the dotted key of `agentkit.search.SearchConfig` it sets (the key of a ``--config`` TOML file and of
the report's full configuration), or says what to do rather than how the search runs and is listed in
`NOT_SETTINGS`. `given_settings` applies the table; an option in neither list stops the command with an
error, so no flag can be declared and then ignored.

Only flags the user actually gave count: an option left at its default sets nothing, so a value from
``--config`` (or the stored settings of a resumed run) stays in force.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource


def _same(value: Any) -> Any:
    return value


def _off(flag: bool) -> bool:
    """A ``--no-x`` flag: given, it switches the setting off."""
    return not flag


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _path(value: Path) -> str:
    return str(value)


def _task_options(pairs: list[str]) -> dict[str, Any]:
    from agentkit.cli._options import parse_task_opts

    return parse_task_opts(pairs)


@dataclass(frozen=True)
class Setting:
    """What one option sets: the dotted configuration key, and how the flag's value becomes its value."""

    key: str
    """Dotted key in `SearchConfig`, e.g. ``budget.max_cost_usd``."""
    convert: Callable[[Any], Any] = _same
    """Flag value to configuration value (``--no-cache`` gives True, ``cache`` becomes False)."""


SETTINGS: dict[str, Setting] = {
    # option (the parameter name typer gives it) -> the setting it sets
    "task": Setting("task"),
    "model": Setting("model"),
    "meta_model": Setting("meta_model"),
    "api_base": Setting("api_base"),
    "data_dir": Setting("data_dir", _path),
    "task_opt": Setting("task_options", _task_options),
    "generations": Setting("generations"),
    "search_size": Setting("search_size"),
    "test_size": Setting("test_size"),
    "screen_size": Setting("screen_size"),
    "parallel": Setting("parallel"),
    "seed": Setting("seed"),
    "self_review": Setting("self_review"),
    "debug_attempts": Setting("debug_attempts"),
    "selection": Setting("selection"),
    "seeds": Setting("seeds", _names),
    "top_k": Setting("top_k"),
    "concurrency": Setting("concurrency"),
    "no_cache": Setting("cache", _off),
    "no_progress": Setting("progress", _off),
    "budget_usd": Setting("budget.max_cost_usd"),
    "budget_calls": Setting("budget.max_calls"),
    "budget_tokens": Setting("budget.max_tokens"),
    "isolation": Setting("sandbox.isolation"),
    "workers": Setting("sandbox.workers"),
    "example_timeout": Setting("sandbox.wall_time_s"),
    "timeout": Setting("sandbox.wall_time_s"),  # `eval` and `bench` spell --example-timeout's parameter so
    "no_reflection": Setting("reflect.reflection", _off),
    "no_manual": Setting("reflect.manual", _off),
    "no_contrastive": Setting("reflect.contrastive", _off),
    "no_monitor": Setting("reflect.monitor", _off),
    "reflect_model": Setting("reflect.model"),
}
"""Every option that is a setting, by parameter name."""

NOT_SETTINGS = frozenset(
    {
        "ctx",
        "out",  # where the run goes; not a setting of the run
        "resume",
        "config_file",
        "print_config",
        "as_json",
        "agent",  # eval / bench: what is evaluated, and on how many examples
        "agents",
        "limit",
        "price",  # a fact about a model (its price), given per session, not a setting stored with a run
    }
)
"""Options that say what to do rather than how the search runs."""


def given_settings(ctx: click.Context, *, defaults: bool = False) -> dict[str, Any]:
    """The settings the options of the running command give, nested by dotted key.

    Only options given on the command line or by their environment variable count, unless `defaults`
    (then options left at their default give their default too: ``eval`` and ``bench`` have no
    configuration defaults of their own). An option in neither table is a programming error: KeyError.
    """
    from agentkit.search._config_file import set_path

    out: dict[str, Any] = {}
    for name, value in ctx.params.items():
        if name in NOT_SETTINGS:
            continue
        setting = SETTINGS.get(name)
        if setting is None:
            raise KeyError(f"option {name!r} of `{ctx.info_name}` is neither a setting nor listed as none")
        source = ctx.get_parameter_source(name)
        given = source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
        if value is None or not (given or defaults):
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
