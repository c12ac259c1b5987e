"""`agentkit.run_search`: Meta Agent Search with the full method, the one way Python code and the
command line (`agentkit search`, `agentkit demo`) start or resume a search.

Why a module of its own: the method is the search engine (`agentkit.search`) plus reflection, the rule
manual, contrastive pairs and the exploration monitor (`agentkit.reflect`, plugged in through the
search's hook protocol). search must not import reflect (reflect builds on search's types), so the
function that puts the two together lives above both. That keeps the layering one-way
(search <- reflect <- this module <- cli) and gives library users exactly what the command line runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.llm import LLMClient
    from agentkit.search import SearchConfig, SearchOutcome, SearchProgress


async def run_search(
    config: SearchConfig | None,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overrides: dict[str, Any] | None = None,
    progress: SearchProgress | None = None,
    client: LLMClient | None = None,
) -> SearchOutcome:
    """Run Meta Agent Search with the full method: start a new run in `run_dir` with `config`, or with
    `resume=True` continue the one there (its stored settings, with the allowed `overrides` such as
    more generations or a larger budget).

    With ``reflect.manual_from`` (``--manual-from RUN``) a new run starts from that run's active rules:
    the run is checked here, before the new run directory exists (`agentkit.errors.ManualSourceError`
    when it is no run or has no active rule), and the rules are imported once, before the first
    generation (`agentkit.reflect.import_manual`); a resumed run never imports again.

    Reflection, the rule manual, contrastive pairs and the monitor are on unless the config switches
    them off: ablations are explicit settings of its ``reflect`` section, as on the command line
    (``--no-reflection``, ``--no-manual``, ``--no-contrastive``, ``--no-monitor`` and ``--reflect-model``
    are ``SearchConfig(..., reflect={"reflection": False, "manual": False, "contrastive": False,
    "monitor": False, "model": ...})``, see `agentkit.search.ReflectConfig`). The hooks are built from
    the run's stored config, so a resumed run keeps its method. For the engine with hooks of your own
    (or none), call `agentkit.search.run_search`.

    Example:
        >>> import agentkit
        >>> config = agentkit.SearchConfig(task="gen/arithmetic", generations=3)
        >>> outcome = await agentkit.run_search(config, "archives/my-run")  # doctest: +SKIP
        >>> outcome.selected.name, outcome.reason  # doctest: +SKIP
    """
    from agentkit.reflect import search_hooks
    from agentkit.search import SearchConfig
    from agentkit.search import run_search as run_engine

    if isinstance(config, SearchConfig) and not resume and config.reflect.manual_from:
        _check_manual_source(config)
    return await run_engine(
        config,
        run_dir,
        resume=resume,
        overrides=overrides,
        hook_factory=search_hooks,
        progress=progress,
        client=client,
    )


def _check_manual_source(config: SearchConfig) -> None:
    """Refuse a ``reflect.manual_from`` that cannot be used: ManualSourceError (no run, no active rule)
    or ConfigError (the manual is off). The setting is stored as given, so that repeating the command
    with ``--resume`` gives the same value; the import records the resolved directory."""
    from agentkit.errors import ConfigError
    from agentkit.reflect import read_manual_source

    if not config.reflect.manual:
        raise ConfigError("--manual-from starts the rule manual from another run: it needs the manual on")
    read_manual_source(str(config.reflect.manual_from))
