"""Meta Agent Search, the engine: a meta agent writes agent code, a sandbox scores it, the archive
keeps it all. Other components plug in through the hook protocol this package owns (`SearchHooks`);
it never imports them.

To run the full method (reflection, the rule manual, the monitor), as `agentkit search` does, use
`agentkit.run_search`; this package's `run_search` runs with exactly the hooks it is given:

```python
import agentkit
from agentkit.search import NoHooks, SearchConfig, run_search

config = SearchConfig(task="gen/arithmetic", model="local", meta_model="local", generations=3)
outcome = await agentkit.run_search(config, "archives/my-run")   # the full method
bare = await run_search(config, "archives/bare", hooks=NoHooks()) # the engine alone, no hooks
# continue a stopped run: agentkit.run_search(None, "archives/my-run", resume=True)
print(outcome.selected, outcome.reason)
```

Pieces: `SearchConfig` (every setting, stored with the run, in typed sections: `agentkit.llm.Budget`,
`PromptLimits`, `SandboxSettings`, `ReflectConfig`; `migrate` reads the flat shape of older runs,
`read_config_file` / `to_toml` the ``--config`` TOML file), parent selection (`select_parents`:
tournament plus a complementary partner, with a random-partner control logged and, in the share
`control_share` of slots, bred from), the controls of its own measurements (`review_controls`: proposals
before self-review scored under `REVIEW_SPLIT`), the bounded meta
prompt (`build_meta_prompt`, `prompt_tokens`), the meta agent conversation (`MetaAgent`), the hook
protocol (`SearchHooks`) and its dispatcher with the one failure policy (`HookDispatcher`), and the
typed checkpoint of a generation (`GenerationState`, `SlotState`).
"""

from __future__ import annotations

from agentkit.search._book import RunBook
from agentkit.search._changes import refused_changes, resume_changes
from agentkit.search._config import SearchConfig, Selection, migrate
from agentkit.search._config_file import read_config_file, to_toml
from agentkit.search._controls import REVIEW_SPLIT, review_controls
from agentkit.search._final import FinalSummary, SearchOutcome, SelectedAgent
from agentkit.search._hooks import (
    HOOK_ERROR,
    CandidateOutcome,
    GenerationSettings,
    HookDispatcher,
    NoHooks,
    SearchContext,
    SearchHooks,
)
from agentkit.search._loop import SearchRun, load_seeds
from agentkit.search._meta import MetaAgent, Proposal, extract_code
from agentkit.search._progress import SearchProgress
from agentkit.search._prompt import (
    AgentCard,
    FailureExample,
    PromptLimits,
    build_meta_prompt,
    estimate_tokens,
    prompt_tokens,
)
from agentkit.search._run import (
    HookFactory,
    load_search_task,
    model_configs,
    offline_run,
    preview_meta_prompt,
    remaining_budget,
    run_search,
    run_sync,
)
from agentkit.search._sections import Isolation, ReflectConfig, SandboxSettings
from agentkit.search._selection import (
    ScoredAgent,
    SelectionResult,
    complementary_partner,
    coverage_gain,
    select_parents,
    tournament,
)
from agentkit.search._state import GenerationState, SettingsState, SlotState
from agentkit.search._stop import request_stop

__all__ = [
    "HOOK_ERROR",
    "REVIEW_SPLIT",
    "AgentCard",
    "CandidateOutcome",
    "FailureExample",
    "FinalSummary",
    "GenerationSettings",
    "GenerationState",
    "HookDispatcher",
    "HookFactory",
    "Isolation",
    "MetaAgent",
    "NoHooks",
    "PromptLimits",
    "Proposal",
    "ReflectConfig",
    "RunBook",
    "SandboxSettings",
    "ScoredAgent",
    "SearchConfig",
    "SearchContext",
    "SearchHooks",
    "SearchOutcome",
    "SearchProgress",
    "SearchRun",
    "SelectedAgent",
    "Selection",
    "SelectionResult",
    "SettingsState",
    "SlotState",
    "build_meta_prompt",
    "complementary_partner",
    "coverage_gain",
    "estimate_tokens",
    "extract_code",
    "load_search_task",
    "load_seeds",
    "migrate",
    "model_configs",
    "offline_run",
    "preview_meta_prompt",
    "prompt_tokens",
    "read_config_file",
    "refused_changes",
    "remaining_budget",
    "request_stop",
    "resume_changes",
    "review_controls",
    "run_search",
    "run_sync",
    "select_parents",
    "to_toml",
    "tournament",
]
