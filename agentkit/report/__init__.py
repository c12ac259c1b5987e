"""Seeing and shipping the results of a run: the `show` table, the self-contained `report.html`, agent
export for apps, and importing ADAS archives.

Public names:
    run_table, agent_detail, render_table, render_detail: what `agentkit show` prints (data and rich)
    build_report, write_report: the HTML report of a run
    export_agent, render_export: one agent as a standalone agent file for `agentkit.load_agent`
    import_adas, parse_adas_fitness, adas_reported: an ADAS archive file as a new run, and the scores
        ADAS reported for its agents (shown beside agentkit's own)
    evaluate_run: score the agents of a run directory into it (`agentkit eval --run`, e.g. ADAS imports)

Selection is by the search split only: the selected agent has the highest lower bound of its search-split
interval; sealed test scores are shown beside it, never used to choose.
"""

from __future__ import annotations

from agentkit.report._adas_import import (
    AdasFitness,
    AdasReported,
    AdasScore,
    ImportedAgent,
    ImportReport,
    SkippedEntry,
    adas_reported,
    import_adas,
    parse_adas_fitness,
)
from agentkit.report._data import (
    AgentRow,
    FailureView,
    ScoreView,
    agent_rows,
    failure_view,
    run_settings,
    selected_agent,
)
from agentkit.report._export import ExportResult, export_agent, render_export, strip_module_docstring
from agentkit.report._html import REPORT_NAME, build_report, write_report
from agentkit.report._rescore import RunEvalRow, RunEvaluation, evaluate_run
from agentkit.report._show import (
    AgentDetail,
    RunTable,
    agent_detail,
    open_run,
    render_detail,
    render_table,
    run_table,
)

__all__ = [
    "REPORT_NAME",
    "AdasFitness",
    "AdasReported",
    "AdasScore",
    "AgentDetail",
    "AgentRow",
    "ExportResult",
    "FailureView",
    "ImportReport",
    "ImportedAgent",
    "RunEvalRow",
    "RunEvaluation",
    "RunTable",
    "ScoreView",
    "SkippedEntry",
    "adas_reported",
    "agent_detail",
    "agent_rows",
    "build_report",
    "evaluate_run",
    "export_agent",
    "failure_view",
    "import_adas",
    "open_run",
    "parse_adas_fitness",
    "render_detail",
    "render_export",
    "render_table",
    "run_settings",
    "run_table",
    "selected_agent",
    "strip_module_docstring",
    "write_report",
]
