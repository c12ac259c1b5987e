"""Meta Agent Search: a meta agent writes agent code, a sandbox scores it, the archive keeps it all.

```python
from agentkit.search import SearchConfig, run_search

config = SearchConfig(task="gen/arithmetic", model="local", meta_model="local", generations=3)
outcome = await run_search(config, "archives/my-run")          # or run_search(None, dir, resume=True)
print(outcome.selected, outcome.reason)
```

Pieces: `SearchConfig` (every setting, stored with the run), parent selection (`select_parents`:
tournament plus a complementary partner, with a random-partner control logged), the bounded meta
prompt (`build_meta_prompt`, `prompt_tokens`), the meta agent conversation (`MetaAgent`), and the
hook points other components plug into (`SearchHooks`).
"""

from __future__ import annotations

from agentkit.search._config import SearchConfig, Selection
from agentkit.search._hooks import CandidateOutcome, GenerationSettings, NoHooks, SearchContext, SearchHooks
from agentkit.search._loop import SearchOutcome, SearchRun, SelectedAgent, load_seeds
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
    default_hooks,
    load_search_task,
    model_configs,
    offline_run,
    preview_meta_prompt,
    remaining_budget,
    run_search,
    run_sync,
)
from agentkit.search._selection import (
    ScoredAgent,
    SelectionResult,
    complementary_partner,
    coverage_gain,
    select_parents,
    tournament,
)

__all__ = [
    "AgentCard",
    "CandidateOutcome",
    "FailureExample",
    "GenerationSettings",
    "MetaAgent",
    "NoHooks",
    "PromptLimits",
    "Proposal",
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
    "build_meta_prompt",
    "complementary_partner",
    "coverage_gain",
    "default_hooks",
    "estimate_tokens",
    "extract_code",
    "load_search_task",
    "load_seeds",
    "model_configs",
    "offline_run",
    "preview_meta_prompt",
    "prompt_tokens",
    "remaining_budget",
    "run_search",
    "run_sync",
    "select_parents",
    "tournament",
]
