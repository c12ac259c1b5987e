"""The archive of a search run: one SQLite database (WAL) per run directory, plus every agent as a
readable `.py` file beside it.

A run directory looks like::

    <run_dir>/
        archive.sqlite          # the truth: config, state, agents, results, reflections, rules, events
        archive.sqlite-wal      # SQLite's write-ahead log (while open)
        run.lock                # the writer lock (flock) and who holds it; see RunLock
        agents/003_a0012_chain_of_thought.py   # derived, rebuilt by Archive.rewrite_agent_files()

Example:
    >>> from agentkit.archive import Archive
    >>> with Archive.create(tmp_path / "run", {"task": "gsm8k"}) as archive:  # doctest: +SKIP
    ...     agent = archive.add_agent("CoT", code, thought="think step by step", origin="seed")
"""

from __future__ import annotations

from agentkit.archive._archive import AGENTS_DIR, DB_NAME, Archive
from agentkit.archive._files import write_atomic
from agentkit.archive._hash import normalise_code, normalised_code_hash
from agentkit.archive._lock import LOCK_NAME, LockHolder, RunLock, lock_holder
from agentkit.archive._models import (
    EVAL_USAGE_ROLE,
    AgentOrigin,
    AgentRecord,
    AgentStatus,
    EventRecord,
    ReflectionRecord,
    ReviewKind,
    ReviewRecord,
    RuleEventRecord,
    RuleEvidence,
    RuleOrigin,
    RuleRecord,
    RuleStatus,
    RuleType,
    RunInfo,
    UsageRecord,
    UsageTotals,
)
from agentkit.archive._schema import SCHEMA_VERSION

__all__ = [
    "AGENTS_DIR",
    "DB_NAME",
    "EVAL_USAGE_ROLE",
    "LOCK_NAME",
    "SCHEMA_VERSION",
    "AgentOrigin",
    "AgentRecord",
    "AgentStatus",
    "Archive",
    "EventRecord",
    "LockHolder",
    "ReflectionRecord",
    "ReviewKind",
    "ReviewRecord",
    "RuleEventRecord",
    "RuleEvidence",
    "RuleOrigin",
    "RuleRecord",
    "RuleStatus",
    "RuleType",
    "RunInfo",
    "RunLock",
    "UsageRecord",
    "UsageTotals",
    "lock_holder",
    "normalise_code",
    "normalised_code_hash",
    "write_atomic",
]
