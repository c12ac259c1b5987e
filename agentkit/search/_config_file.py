"""A search configuration as a TOML file, and the dotted keys that name each setting.

The file holds the same keys as the run's stored configuration (the report's "Full configuration"):
top-level settings, then one table per section::

    task = "gsm8k"
    model = "openai/gpt-4o-mini"
    generations = 10

    [budget]
    max_cost_usd = 5.0

    [sandbox]
    workers = 4

A full stored configuration (with ``kind = "search"`` and a ``[search]`` table) reads the same, and the
flat shape of older runs is migrated. Reading uses the standard library's `tomllib`; writing is the
small writer below (TOML has no null, so a setting left unset is written as a comment).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentkit.errors import ConfigError
from agentkit.search._config import SearchConfig, migrate

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# --- dotted keys -------------------------------------------------------------------------------------------


def setting_keys(model: type[BaseModel] = SearchConfig) -> dict[str, Any]:
    """Every setting of `model` by dotted key (``budget.max_cost_usd``), with its pydantic field info;
    a section contributes its fields, never itself."""
    keys: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys.update({f"{name}.{sub}": info for sub, info in setting_keys(kind).items()})
        else:
            keys[name] = field
    return keys


def unknown_keys(data: Mapping[str, Any], model: type[BaseModel] = SearchConfig) -> list[str]:
    """The dotted keys in `data` that are no setting of `model` (sorted)."""
    unknown: list[str] = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            unknown.append(key)
            continue
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(value, Mapping):
            unknown.extend(f"{key}.{sub}" for sub in unknown_keys(value, kind))
    return sorted(unknown)


def get_path(data: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """The value at `dotted` in nested `data` (`default` when a part is missing)."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `dotted` in nested `data`, creating the tables on the way."""
    *heads, leaf = dotted.split(".")
    node = data
    for part in heads:
        node = node.setdefault(part, {})
    node[leaf] = value


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with every value of `over` on top, tables merged key by key (neither is changed)."""
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            out[key] = merge(below, value)
        else:
            out[key] = value
    return out


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested `data` as one dict by dotted key (every table opened, down to its values)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


# --- reading -----------------------------------------------------------------------------------------------


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in the TOML file at `path`, in the nested shape (not validated as a whole: a file
    for ``eval`` may hold only a model). Raises ConfigError for a file that cannot be read or parsed,
    or that names a key which is no setting."""
    path = Path(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    if isinstance(data.get("search"), dict) and "kind" in data:
        data = data["search"]  # a run's whole stored configuration, as the report shows it
    try:
        data = migrate(data)
    except ValueError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    unknown = unknown_keys(data)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return data


# --- writing -----------------------------------------------------------------------------------------------


def to_toml(config: SearchConfig | Mapping[str, Any], *, header: str = "") -> str:
    """`config` as a TOML document that `read_config_file` reads back to the same settings."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, (), data)
    return "\n".join(lines).strip("\n") + "\n"


def _table(lines: list[str], path: tuple[str, ...], data: Mapping[str, Any]) -> None:
    if path:
        lines += ["", "[" + ".".join(_key(p) for p in path) + "]"]
    for key, value in data.items():
        if value is None:
            lines.append(f"# {_key(key)}: not set")
        elif not isinstance(value, Mapping):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in data.items():
        if isinstance(value, Mapping):
            _table(lines, (*path, key), value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string, except that TOML wants DEL escaped too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) as a TOML value")
