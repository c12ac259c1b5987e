"""What a resume's settings change in a stored run: the overrides that differ from the stored values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit.errors import ConfigError
from agentkit.search._config import SearchConfig, migrate
from agentkit.search._config_file import flatten

# Settings a resumed run may change (dotted keys of `SearchConfig`); everything else must stay as the run
# started.
RESUMABLE_OVERRIDES = frozenset(
    {
        "generations",
        "budget.max_cost_usd",
        "budget.max_calls",
        "budget.max_tokens",
        "progress",
        "sandbox.workers",
        "concurrency",
        "max_inflight",
        "top_k",
        # Where the models are served is not a setting of the search: a self-hosted server may come
        # back on another port.
        "api_base",
    }
)


def real_changes(stored: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides that differ from the stored settings, by dotted key. Both may be in the flat shape
    of older runs or the nested one (they are compared after `migrate`, the stored ones with every
    default filled in). Repeating the original command with ``--resume``, or giving the run's own
    ``--print-config`` file, gives every setting again; only a value that really changes counts."""
    try:
        have = flatten(SearchConfig.model_validate(migrate(stored)).model_dump(mode="json"))
        given = flatten(migrate(overrides))
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
    return {k: v for k, v in given.items() if v is not None and (k not in have or have[k] != v)}


def resume_changes(stored: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """What resuming a run whose stored search settings are `stored` with `overrides` changes, by
    dotted key: (old value, new value). Settings a resume may not change are included (the resume then
    refuses them); a setting given again with its stored value is not."""
    changes = real_changes(stored, overrides)
    have = flatten(SearchConfig.model_validate(migrate(dict(stored))).model_dump(mode="json"))
    return {key: (have.get(key), value) for key, value in changes.items()}


def refused_changes(changes: Mapping[str, Any]) -> list[str]:
    """The changed settings (dotted keys, as `real_changes` gives them) a resume may not make, sorted."""
    named = {"the reflection settings" if key.startswith("reflect.") else key for key in changes}
    return sorted(named - RESUMABLE_OVERRIDES)
