"""The flag table of `agentkit search` and `agentkit demo`, ``--config`` files and ``--print-config``:
every declared option is a setting with a key (or says what to do), and setting it changes the
effective configuration."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import typer.main
from typer.testing import CliRunner

from agentkit.cli import app
from agentkit.cli._flags import NOT_SETTINGS, SETTINGS
from agentkit.search import SearchConfig
from agentkit.search._config_file import flatten, setting_keys

cli = CliRunner()
BASE = ["--task", "gen/arithmetic", "--model", "openai/a"]
MISSING = object()

# A value for each free-text option, different from the one it has without the flag (a choice takes
# another of its choices, a number 7).
VALUES: dict[str, str] = {
    "task": "gen/boolean",
    "model": "openai/b",
    "meta_model": "openai/meta",
    "api_base": "http://127.0.0.1:9/v1",
    "seeds": "cot,debate",
    "reflect_model": "openai/reflector",
    "data_dir": "/srv/data",
    "task_opt": "digits=3",
    "agent_max_tokens": "300",
}


def _value(name: str, key: str, base: dict[str, Any]) -> str:
    """A value for option `name` that differs from its setting `key` in `base`."""
    if name in VALUES:
        return VALUES[name]
    kind = setting_keys()[key].annotation
    choices = [c for t in (kind, *get_args(kind)) if get_origin(t) is Literal for c in get_args(t)]
    if choices:
        return str(next(c for c in choices if c != base.get(key)))
    return "7"


def _options(name: str) -> list[Any]:
    """The options (click's, as typer builds them) of command `name`."""
    group: Any = typer.main.get_command(app)
    return [p for p in group.commands[name].params if p.param_type_name == "option"]


def _effective(*args: str) -> dict[str, Any]:
    done = cli.invoke(app, [*args, "--print-config"])
    assert done.exit_code == 0, done.output
    data = tomllib.loads(done.stdout)
    SearchConfig.model_validate(data)  # what is printed is a whole configuration
    return flatten(data)


def _rest(config: dict[str, Any], key: str) -> dict[str, Any]:
    """The settings other than `key` (the meta model follows --model; an empty table is no setting)."""
    return {
        k: v
        for k, v in config.items()
        if k not in (key, "meta_model") and not k.startswith(f"{key}.") and v != {}
    }


@pytest.mark.parametrize("command", ["search", "demo", "eval", "bench"])
def test_every_option_is_in_the_table(command: str) -> None:
    keys = setting_keys()
    for option in _options(command):
        assert option.name in SETTINGS or option.name in NOT_SETTINGS, f"{command} {option.opts}"
        if option.name in SETTINGS:
            assert SETTINGS[option.name].key in keys, option.name
    assert not set(SETTINGS) & NOT_SETTINGS


@pytest.mark.parametrize("command", ["search", "demo"])
def test_every_setting_option_changes_the_effective_config(command: str) -> None:
    base_args = BASE if command == "search" else []
    base = _effective(command, *base_args)
    for option in _options(command):
        if option.name in NOT_SETTINGS:
            continue
        assert option.name is not None
        flag = option.opts[0]
        key = SETTINGS[option.name].key
        extra = [flag] if option.is_flag else [flag, _value(option.name, key, base)]
        changed = _effective(command, *base_args, *extra)
        assert changed.get(key, MISSING) != base.get(key, MISSING), (
            f"{command} {' '.join(extra)} changed nothing"
        )
        assert _rest(changed, key) == _rest(base, key), f"{command} {' '.join(extra)} changed more"


def test_a_config_file_is_read_and_flags_override_it(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'task = "gen/boolean"\nmodel = "openai/x"\ngenerations = 3\n'
        "[budget]\nmax_cost_usd = 2.0\n[sandbox]\nworkers = 3\n[reflect]\nmonitor = false\n"
    )
    config = _effective("search", "--config", str(path), "--generations", "5", "--workers", "6")
    assert config["task"] == "gen/boolean" and config["meta_model"] == "openai/x"
    assert (config["generations"], config["sandbox.workers"]) == (5, 6)
    assert config["budget.max_cost_usd"] == 2.0 and config["reflect.monitor"] is False


def test_print_config_reads_back_to_the_same_config(tmp_path: Path) -> None:
    args = [*BASE, "--budget-calls", "40", "--no-manual", "--seeds", "cot", "--workers", "3"]
    first = cli.invoke(app, ["search", *args, "--print-config"])
    assert first.exit_code == 0, first.output
    path = tmp_path / "run.toml"
    path.write_text(first.stdout)
    again = cli.invoke(app, ["search", "--config", str(path), "--print-config"])
    assert again.exit_code == 0, again.output
    assert tomllib.loads(again.stdout) == tomllib.loads(first.stdout)


def test_a_new_search_without_a_task_says_where_to_give_one() -> None:
    done = cli.invoke(app, ["search", "--model", "openai/a", "--print-config"])
    assert done.exit_code != 0
    assert "--task" in str(done.exception) and "--config" in str(done.exception)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--selection", "foo"],
            "--selection: Input should be 'complementary', 'best' or 'random' (got 'foo')",
        ),
        (["--generations", "-1"], "--generations: Input should be greater than or equal to 0 (got -1)"),
        (["--search-size", "0"], "--search-size: Input should be greater than or equal to 1 (got 0)"),
    ],
)
def test_a_bad_value_is_named_by_its_flag_in_one_line(args: list[str], expected: str) -> None:
    done = cli.invoke(app, ["search", *BASE, *args, "--print-config"])
    assert done.exit_code != 0
    message = str(done.exception)
    assert message == f"invalid search settings: {expected}"
    assert "pydantic" not in message and "\n" not in message


def test_a_bad_value_from_a_config_file_is_named_by_its_key(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('task = "gen/boolean"\nmodel = "openai/x"\n[sandbox]\nworkers = 0\n')
    done = cli.invoke(app, ["search", "--config", str(path), "--print-config"])
    assert done.exit_code != 0
    assert str(done.exception).startswith("invalid search settings: sandbox.workers: Input should be")
