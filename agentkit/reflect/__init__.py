"""Learning from why agents fail: reflection, the rule manual, contrastive pairs and the exploration
monitor, plugged into the search through its hooks.

```python
import agentkit
from agentkit.reflect import ReflectConfig, compile_manual
from agentkit.search import SearchConfig

config = SearchConfig(task="gen/arithmetic", reflect=ReflectConfig(hide_share=0.3))
outcome = await agentkit.run_search(config, "archives/run")   # builds search_hooks(config) for you
print(compile_manual(archive))                # or on the command line: agentkit manual archives/run
```

Pieces: `classify_outcome` (improved / regressed / no change / crashed, beyond noise by a paired test),
`Reflector` (one structured reflection per candidate, stored with `Archive.add_reflection`),
`ManualBuilder` with `check_operations` (rule operations proposed by the model, checked by code),
`RuleKeeper` (expiry, activation, the cap and consolidation), `rule_lifts` / `RuleLift` (each rule's lift
as paired gains with an interval, and the retirement rule), `formulate` (active rules -> manual
text), `contrast_block` (a rise and a fall with their diffs), `compute_snapshot` / `decide` (the monitor),
`read_manual_source` / `import_manual` (a manual carried over from another run with
``reflect.manual_from``), and `ReflectHooks`, which implements `agentkit.search.SearchHooks` (`search_hooks(config)` builds it;
`agentkit.run_search` and the command line run every search with it). reflect imports search, never
the other way round; the search applies the hooks' failure policy (`agentkit.search.HookDispatcher`).
"""

from __future__ import annotations

from agentkit.reflect._builder import (
    ArchiveFacts,
    CheckedOps,
    ManualBuilder,
    Rejection,
    RuleOp,
    apply_operations,
    check_operations,
    parse_operations,
)
from agentkit.reflect._carry import (
    IMPORT_EVENT,
    ManualSource,
    carried_over,
    import_manual,
    read_manual_source,
)
from agentkit.reflect._config import ReflectConfig
from agentkit.reflect._contrast import Change, contrast_block, score_changes
from agentkit.reflect._failures import LESSONS, FailureLesson, failure_keys, record_failure_lessons
from agentkit.reflect._hooks import (
    ReflectHooks,
    candidate_scores,
    compile_manual,
    monitor_history,
    search_hooks,
)
from agentkit.reflect._lift import (
    Gain,
    RuleLift,
    difference_interval,
    gains_of,
    lift_retirements,
    paired_gain,
    rule_lifts,
    slot_agents,
)
from agentkit.reflect._manual import (
    TYPE_ORDER,
    Formulated,
    Merge,
    RuleKeeper,
    check_merges,
    formulate,
    hidden_rules,
    least_supported,
    stale_rules,
    support_key,
)
from agentkit.reflect._monitor import (
    AgentFacts,
    Decision,
    MonitorSnapshot,
    compute_snapshot,
    decide,
    distance,
    pearson,
)
from agentkit.reflect._outcome import (
    FAILURES,
    OUTCOMES,
    Outcome,
    OutcomeVerdict,
    classify_outcome,
    code_failure_share,
)
from agentkit.reflect._reflection import (
    REFLECTION_FIELDS,
    PickedExample,
    Reflector,
    choose_contrast,
    pick_examples,
)

__all__ = [
    "FAILURES",
    "IMPORT_EVENT",
    "LESSONS",
    "OUTCOMES",
    "REFLECTION_FIELDS",
    "TYPE_ORDER",
    "AgentFacts",
    "ArchiveFacts",
    "Change",
    "CheckedOps",
    "Decision",
    "FailureLesson",
    "Formulated",
    "Gain",
    "ManualBuilder",
    "ManualSource",
    "Merge",
    "MonitorSnapshot",
    "Outcome",
    "OutcomeVerdict",
    "PickedExample",
    "ReflectConfig",
    "ReflectHooks",
    "Reflector",
    "Rejection",
    "RuleKeeper",
    "RuleLift",
    "RuleOp",
    "apply_operations",
    "candidate_scores",
    "carried_over",
    "check_merges",
    "check_operations",
    "choose_contrast",
    "classify_outcome",
    "code_failure_share",
    "compile_manual",
    "compute_snapshot",
    "contrast_block",
    "decide",
    "difference_interval",
    "distance",
    "failure_keys",
    "formulate",
    "gains_of",
    "hidden_rules",
    "import_manual",
    "least_supported",
    "lift_retirements",
    "monitor_history",
    "paired_gain",
    "parse_operations",
    "pearson",
    "pick_examples",
    "read_manual_source",
    "record_failure_lessons",
    "rule_lifts",
    "score_changes",
    "search_hooks",
    "slot_agents",
    "stale_rules",
    "support_key",
]
