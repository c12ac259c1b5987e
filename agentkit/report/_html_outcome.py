"""The end of a search in the report: the selected agent against the best seed on the same sealed test
questions, and the ensembles built from the archive (their score, cost per question, and whether one was
chosen). Both are read from the run's stored final summary, the one source of truth the CLI prints too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.report._html_parts import agent_ref, esc

if TYPE_CHECKING:
    from agentkit.report._html_parts import RunView


def _final(run: RunView) -> dict[str, Any]:
    final = run.archive.get_state("final_summary")
    return final if isinstance(final, dict) else {}


def versus_seed(run: RunView) -> str:
    """A callout: did the search beat the best seed on the sealed test (paired, same questions)?"""
    cmp = _final(run).get("versus_seed")
    if not isinstance(cmp, dict):
        return ""
    won = cmp["difference"] > 0 and cmp["p_value"] < 0.05
    title = "The search beat the best seed" if won else "The search did not clearly beat the best seed"
    detail = (
        f"On the same {cmp['n']} sealed test questions: selected agent {cmp['selected_mean']:.3f}, best seed "
        f"{agent_ref(cmp['seed_id'], run.names)} {cmp['seed_mean']:.3f}; difference "
        f"{cmp['difference']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}] (95% paired bootstrap), "
        f"p = {cmp['p_value']:.3f}."
    )
    return f'<div class="callout"><h3>{esc(title)}</h3><p>{detail}</p><p>{esc(cmp["verdict"])}</p></div>'


def ensembles(run: RunView) -> str:
    """A short table of the ensembles built at the end and whether one was selected."""
    notes = _final(run).get("ensembles") or []
    if not notes:
        return ""
    rows = []
    for e in notes:
        score = (
            "not scored"
            if e.get("search_mean") is None
            else f"{e['search_mean']:.3f} (low {e['search_low']:.3f})"
        )
        calls = e.get("calls_per_question")
        cost = e.get("cost_per_question")
        rows.append(
            f"<tr><td>{agent_ref(e['id'], run.names)}</td><td>{esc(e['kind'])}</td>"
            f"<td>{', '.join(agent_ref(m, run.names) for m in e['members'])}</td><td>{esc(score)}</td>"
            f"<td>{'-' if calls is None else f'{calls:.1f}'}</td>"
            f"<td>{'-' if cost is None else f'${cost:.4f}'}</td><td>{'yes' if e['selected'] else 'no'}</td></tr>"
        )
    head = (
        "<tr><th>agent</th><th>kind</th><th>members</th><th>search score</th><th>calls / question</th>"
        "<th>cost / question</th><th>selected</th></tr>"
    )
    return (
        '<h3>Ensembles built from the archive</h3><p class="small">A vote and a router over the most '
        "complementary evaluated agents, scored on the search split like any agent and selected only by the "
        f"same lower-bound rule.</p><table>{head}{''.join(rows)}</table>"
    )
