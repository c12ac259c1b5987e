"""Benchmarks for agents: GSM8K, MGSM, the 27 BBH tasks, ADAS's DROP, GSM-Hard, SVAMP and ASDiv, custom
JSONL files, tasks defined in Python (`Task.from_records`, `register_task`) and generated tasks.

Tasks are addressed by name (`load_task("bbh/navigate")`), checked by small documented scorers (scores
in [0, 1]; DROP's F1 and Python scorers give partial credit), split into a search set and a sealed test
set (`split_task`), and compared with sound statistics (`score_interval`: Wilson's interval for scores in
[0, 1], else bootstrap; `paired_compare`). Where local data is looked for is described in
`agentkit.tasks._data` (``data_dir=`` / ``$AGENTKIT_DATA_DIR`` / ``../shared/data``).
"""

from __future__ import annotations

from agentkit.tasks._custom import ScorerFn, register_task, registered_names, unregister_task
from agentkit.tasks._data import ENV_DATA_DIR, data_dirs
from agentkit.tasks._drop import drop_f1
from agentkit.tasks._models import Example, Task, TaskInfo
from agentkit.tasks._registry import (
    GEN_DEFAULTS,
    check_task_name,
    gsm8k_gold,
    list_tasks,
    load_task,
    task_names,
)
from agentkit.tasks._scorers import (
    SCORERS,
    choice_letter,
    extract_final_answer,
    final_number,
    get_scorer,
    score_dyck,
    score_exact,
    score_exact_ci,
    score_f1,
    score_label,
    score_multiple_choice,
    score_numeric,
    score_numeric_approx,
    score_words,
)
from agentkit.tasks._split import TaskSplit, load_split, split_task
from agentkit.tasks._stats import (
    PairedComparison,
    bootstrap_ci,
    holm_adjusted,
    mcnemar_exact,
    paired_compare,
    score_interval,
    wilson_interval,
)

__all__ = [
    "ENV_DATA_DIR",
    "GEN_DEFAULTS",
    "SCORERS",
    "Example",
    "PairedComparison",
    "ScorerFn",
    "Task",
    "TaskInfo",
    "TaskSplit",
    "bootstrap_ci",
    "check_task_name",
    "choice_letter",
    "data_dirs",
    "drop_f1",
    "extract_final_answer",
    "final_number",
    "get_scorer",
    "gsm8k_gold",
    "holm_adjusted",
    "list_tasks",
    "load_split",
    "load_task",
    "mcnemar_exact",
    "paired_compare",
    "register_task",
    "registered_names",
    "score_dyck",
    "score_exact",
    "score_exact_ci",
    "score_f1",
    "score_interval",
    "score_label",
    "score_multiple_choice",
    "score_numeric",
    "score_numeric_approx",
    "score_words",
    "split_task",
    "task_names",
    "unregister_task",
    "wilson_interval",
]
