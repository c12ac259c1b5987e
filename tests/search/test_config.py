"""`SearchConfig`'s nested shape: typed sections, the migration of the flat shape, and TOML round trips."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any, get_args

import pytest

from agentkit.errors import ConfigError
from agentkit.llm import Budget
from agentkit.sandbox import SandboxConfig
from agentkit.search import SearchConfig
from agentkit.search._config import FLAT_KEYS, migrate
from agentkit.search._config_file import (
    flatten,
    get_path,
    merge,
    read_config_file,
    setting_keys,
    to_toml,
    unknown_keys,
)
from agentkit.search._sections import PromptLimits, ReflectConfig, SandboxSettings

# The configuration `agentkit search` stored before the sections existed (agentkit 0.1), as in the
# fixture run tests/fixtures/flat_config_run.
FLAT = {
    "task": "gen/arithmetic",
    "task_split": None,
    "data_dir": None,
    "model": "openai/fake-agent",
    "meta_model": "openai/fake-meta",
    "api_base": "http://127.0.0.1:1/v1",
    "agent_temperature": None,
    "meta_temperature": 0.8,
    "meta_max_tokens": 2048,
    "model_timeout_s": 120.0,
    "search_size": 4,
    "test_size": 2,
    "screen_size": 0,
    "seed": 0,
    "generations": 1,
    "parallel": 1,
    "self_review": 0,
    "debug_attempts": 1,
    "selection": "complementary",
    "tournament_size": 3,
    "inspirations": 3,
    "seeds": ["cot"],
    "prompt_max_tokens": 5000,
    "prompt_code_chars": 2400,
    "prompt_failures": 1,
    "prompt_example_chars": 400,
    "prompt_manual_chars": 4000,
    "top_k": 3,
    "isolation": "process",
    "workers": 2,
    "concurrency": 2,
    "wall_time_s": 90.0,
    "trace_chars": 2000,
    "cache": True,
    "cache_dir": None,
    "budget_usd": 5.0,
    "budget_calls": None,
    "budget_tokens": 100000,
    "reflection": True,
    "manual": False,
    "progress": False,
    "extra": {"reflect": {"contrastive": False, "hide_share": 0.0}, "task_options": {"difficulty": 2}},
}


def test_the_flat_shape_lands_in_the_sections() -> None:
    config = SearchConfig.model_validate(FLAT)
    assert config.budget == Budget(max_cost_usd=5.0, max_tokens=100000)
    assert config.prompt == PromptLimits(max_tokens=5000, failures=1)
    assert (config.sandbox.isolation, config.sandbox.workers, config.sandbox.wall_time_s) == (
        "process",
        2,
        90.0,
    )
    assert config.reflect.contrastive is False and config.reflect.hide_share == 0.0
    assert config.reflect.reflection is True and config.reflect.manual is False
    assert config.task_options == {"difficulty": 2}
    assert (config.search_size, config.seeds, config.progress) == (4, ["cot"], False)
    # Every flat key moved and nothing else changed: the nested dump read back gives the same settings.
    assert SearchConfig.model_validate(config.model_dump(mode="json")) == config
    assert not set(FLAT_KEYS) & set(config.model_dump())


def test_a_switch_the_flat_shape_held_twice_is_on_only_when_both_say_on() -> None:
    both_on = SearchConfig.model_validate(FLAT | {"manual": True})
    assert both_on.reflect.manual is True
    off_in_extra = SearchConfig.model_validate(FLAT | {"extra": {"reflect": {"reflection": False}}})
    assert off_in_extra.reflect.reflection is False
    assert SearchConfig.model_validate(FLAT).reflect.manual is False  # off at the top level


def test_migrate_leaves_a_nested_config_alone_and_a_flat_override_wins() -> None:
    nested = SearchConfig.model_validate(FLAT).model_dump(mode="json")
    assert migrate(nested) == nested
    assert SearchConfig.model_validate(nested | {"workers": 6}).sandbox.workers == 6


def test_migrate_refuses_what_the_flat_shape_never_stored() -> None:
    with pytest.raises(ValueError, match="unknown settings in 'extra': monitor"):
        migrate({"task": "t", "extra": {"monitor": {}}})
    with pytest.raises(ValueError, match="unknown budget setting"):
        SearchConfig.model_validate({"task": "t", "budget": {"max_usd": 3}})
    with pytest.raises(ValueError, match="extra_forbidden"):
        SearchConfig.model_validate({"task": "t", "sandbox": {"worker": 3}})


def test_the_sections_are_the_types_their_components_take() -> None:
    config = SearchConfig(task="t")
    assert isinstance(config.budget, Budget)
    assert isinstance(config.sandbox, SandboxConfig)
    assert config.sandbox.workers == SandboxConfig().workers  # one default, not a second one
    assert SandboxSettings(isolation="trusted").runner_config().isolation == "auto"
    assert SandboxSettings(isolation="bwrap", memory_mb=512).runner_config() == SandboxConfig(
        isolation="bwrap", memory_mb=512
    )


def _undocumented(cls: type) -> list[str]:
    """Fields of `cls` (its own annotations) not followed by a docstring."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    missing = []
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            after = body[i + 1] if i + 1 < len(body) else None
            documented = (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            )
            if not documented and node.target.id != "model_config":
                missing.append(f"{cls.__name__}.{node.target.id}")
    return missing


@pytest.mark.parametrize(
    "cls", [SearchConfig, Budget, PromptLimits, SandboxConfig, SandboxSettings, ReflectConfig]
)
def test_every_setting_has_a_docstring(cls: type) -> None:
    assert _undocumented(cls) == []


def test_every_optional_setting_defaults_to_none() -> None:
    # TOML has no null: an unset setting is left out of the file, which reads back as its default.
    for key, field in setting_keys().items():
        if type(None) in get_args(field.annotation):
            assert field.default is None, key


def test_dotted_keys() -> None:
    keys = setting_keys()
    assert {
        "task",
        "budget.max_cost_usd",
        "prompt.code_chars",
        "sandbox.memory_mb",
        "reflect.monitor",
    } <= set(keys)
    assert "budget" not in keys and "reflect" not in keys
    assert unknown_keys({"task": "t", "budget": {"max_usd": 1}, "colour": 1}) == ["budget.max_usd", "colour"]
    data: dict[str, Any] = {"budget": {"max_calls": 3}}
    assert get_path(data, "budget.max_calls") == 3 and get_path(data, "budget.max_tokens", 7) == 7
    assert merge(data, {"budget": {"max_tokens": 9}, "seed": 1}) == {
        "budget": {"max_calls": 3, "max_tokens": 9},
        "seed": 1,
    }
    assert flatten({"a": {"b": 1, "c": {}}, "d": [1]}) == {"a.b": 1, "a.c": {}, "d": [1]}


def test_toml_round_trip_keeps_every_setting(tmp_path: Path) -> None:
    config = SearchConfig.model_validate(
        FLAT | {"task_options": {"odd key": 'quote " and \x7f', "n": -3}, "agent_temperature": 0.1}
    )
    text = to_toml(config, header="written by a test\nsecond line")
    assert text.startswith("# written by a test\n# second line\n")
    assert "\n[budget]\nmax_cost_usd = 5.0\n# max_calls: not set\n" in text
    path = tmp_path / "run.toml"
    path.write_text(text)
    assert SearchConfig.model_validate(read_config_file(path)) == config


def test_a_config_file_reads_the_stored_shapes(tmp_path: Path) -> None:
    # The whole stored configuration, as the report's "Full configuration" shows it, in the flat shape.
    whole = tmp_path / "whole.toml"
    whole.write_text(
        'kind = "search"\ngit_revision = "abc"\n[versions]\nagentkit = "0.1.0"\n'
        '[search]\ntask = "gsm8k"\nworkers = 3\n[search.extra.reflect]\nmonitor = false\n'
    )
    data = read_config_file(whole)
    assert data == {"task": "gsm8k", "sandbox": {"workers": 3}, "reflect": {"monitor": False}}


def test_a_config_file_with_a_wrong_key_or_syntax_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "gsm8k"\n[sandbox]\nworker = 3\n')
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) sandbox.worker"):
        read_config_file(bad)
    bad.write_text("task = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        read_config_file(tmp_path / "missing.toml")
