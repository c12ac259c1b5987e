"""The report's "Measured effects" section: rule lift, complementary against random partners, and
self-review, each with its interval and the number of samples behind it (data from `_effects`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.report._effects import (
    MIN_SAMPLES,
    GroupGain,
    ImportedRule,
    PartnerEffect,
    ReviewEffect,
    RuleEffect,
    run_effects,
)
from agentkit.report._html_parts import badge, esc, html_table

if TYPE_CHECKING:
    from agentkit.records import Interval
    from agentkit.report._html_parts import RunView

_NONE = '<span class="muted">-</span>'


def fmt_interval(value: Interval | None) -> str:
    """``+0.120 [-0.050, +0.290]`` for a signed effect, or ``-`` when there is none."""
    if value is None:
        return "-"
    return f"{value.mean:+.3f} [{value.low:+.3f}, {value.high:+.3f}]"


def _cell(value: Interval | None) -> str:
    return esc(fmt_interval(value)) if value is not None else _NONE


def effects(run: RunView) -> str | None:
    """The section, or None for a run with nothing measured (an import, a run before the measurements)."""
    found = run_effects(run.archive)
    partners = found.partners.complementary.n + found.partners.random.n
    if not found.rules and not partners and not found.review.reviewed and not found.imported:
        return None
    return (
        '<p class="small muted">Every figure pairs scores on the same questions: a candidate against its '
        "main parent, a reviewed agent against its proposal before review. Intervals are 95% bootstrap "
        "intervals; n is the number of samples behind each.</p>"
        + _partners(found.partners)
        + _review(found.review)
        + _rules(found.rules)
        + _imported(found.imported)
    )


def _group_row(label: str, group: GroupGain) -> list[str]:
    return [esc(label), str(group.n), str(group.questions), _cell(group.gain)]


def _partners(p: PartnerEffect) -> str:
    share = "" if p.control_share is None else f" (random partner in a seeded {p.control_share:.0%} of slots)"
    table = html_table(
        ["second parent", "n candidates", "paired questions", "gain over the main parent"],
        [_group_row("complementary", p.complementary), _group_row("random control", p.random)],
        num_cols={1, 2, 3},
    )
    if p.difference is not None:
        verdict = (
            f"Complementary minus random: <b>{esc(fmt_interval(p.difference))}</b> "
            f"(n = {p.complementary.n} and {p.random.n} candidates)."
        )
    else:
        verdict = (
            f"Complementary minus random: not measured yet (needs {MIN_SAMPLES} candidates of each kind; "
            f"n = {p.complementary.n} and {p.random.n})."
        )
    return f"<h3>Complementary against random partners{esc(share)}</h3>{table}<p>{verdict}</p>"


def _review(r: ReviewEffect) -> str:
    head = (
        f"<p>{r.reviewed} proposals went through self-review; the review changed the code of {r.changed}; "
        f"{r.pairs} proposals before review were scored and paired ({r.questions} paired questions).</p>"
    )
    if r.effect is None:
        body = f"<p>Reviewed minus before review: not measured (n = {r.questions} paired questions).</p>"
    else:
        p = "" if r.p_value is None else f", p = {r.p_value:.3f}"
        body = (
            f"<p>Reviewed minus before review: <b>{esc(fmt_interval(r.effect))}</b> "
            f"({r.reviewed_mean:.3f} against {r.before_mean:.3f}; n = {r.questions} questions over "
            f"{r.pairs} pairs{esc(p)}).</p>"
        )
    return f"<h3>Self-review</h3>{head}{body}"


def _rules(rules: list[RuleEffect]) -> str:
    if not rules:
        return "<h3>Rule lift</h3><p>No rule was measured.</p>"
    rows = [
        [
            f"<code>{esc(r.rule_id)}</code>",
            badge(r.status),
            esc(r.text),
            str(r.shown),
            str(r.hidden),
            _cell(r.lift),
            esc(r.verdict) + f'<div class="small muted">{esc(r.reason)}</div>',
        ]
        for r in rules
    ]
    return (
        '<h3>Rule lift</h3><p class="small muted">Mean gain over the main parent of candidates shown the '
        "rule minus that of candidates it was hidden from. A rule is retired only when the whole interval "
        "lies below zero, or, after many candidates, within a narrow band around zero.</p>"
        + html_table(
            ["rule", "status", "text", "n shown", "n hidden", "lift", "verdict"], rows, num_cols={3, 4, 5}
        )
    )


def _imported(rules: list[ImportedRule]) -> str:
    """Rules carried over from another run (``--manual-from``): which survived, which were retired."""
    if not rules:
        return ""
    survived = sum(r.survived for r in rules)
    sources = ", ".join(sorted({r.origin.run_dir for r in rules}))
    rows = [
        [
            f"<code>{esc(r.rule_id)}</code>",
            f"<code>{esc(r.origin.rule_id)}</code>"
            + (
                ""
                if r.origin.lift is None
                else f'<div class="small muted">lift there {r.origin.lift:+.3f}</div>'
            ),
            (
                badge("survived")
                if r.survived
                else badge("retired")
                + f'<div class="small muted">g{esc(r.retired_generation)}: {esc(r.retired_reason)}</div>'
            ),
            esc(r.text),
            str(r.shown),
            str(r.hidden),
            _cell(r.lift),
            esc(r.verdict),
        ]
        for r in rules
    ]
    return (
        f'<h3 id="imported-rules">Imported rules: {survived} of {len(rules)} survived</h3>'
        f'<p class="small muted">Carried over with --manual-from from {esc(sources)}, then shown, measured and '
        "retired like the run's own rules. Lift here is measured in this run.</p>"
        + html_table(
            ["rule", "id there", "fate", "text", "n shown", "n hidden", "lift here", "verdict"],
            rows,
            num_cols={4, 5, 6},
        )
    )
