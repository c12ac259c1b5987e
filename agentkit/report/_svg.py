"""Inline SVG charts written by hand: the report must open with no network and no script library.

Every text that reaches the SVG goes through `html.escape` (its control characters shown as escapes);
numbers are formatted by us.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape as _html_escape

from agentkit.records import printable

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def escape(text: str) -> str:
    """`text` for the SVG: control characters shown as escapes, then HTML-escaped."""
    return _html_escape(printable(text))


@dataclass
class Series:
    """One line of a line chart."""

    name: str
    points: list[tuple[float, float]]
    color: str = PALETTE[0]
    dashed: bool = False
    markers: bool = True


@dataclass
class IntervalRow:
    """One row of the interval chart: an agent's score with its interval, and optionally its test score."""

    label: str
    mean: float
    low: float
    high: float
    test: float | None = None
    highlight: bool = False
    muted: bool = False
    tooltip: str = ""


def _nice_ticks(lo: float, hi: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi] (whole numbers only when `integer`)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _tick_label(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def line_chart(
    series: list[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
    width: int = 720,
    height: int = 300,
    integer_x: bool = True,
) -> str:
    """A line chart with axes, ticks, a legend and one `<title>` tooltip per point."""
    left, right, bottom = 56, 16, 46
    legend, legend_rows = _legend(series, x0=left, max_x=width - right)
    top = 16 + 18 * legend_rows
    points = [p for s in series for p in s.points]
    if not points:
        return ""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    if y_range is not None:
        y_lo, y_hi = y_range
    else:
        y_lo, y_hi = min(ys), max(ys)
        pad = (y_hi - y_lo) * 0.1 or max(abs(y_hi) * 0.1, 0.1)
        y_lo, y_hi = y_lo - pad, y_hi + pad
        if min(ys) >= 0 > y_lo:
            y_lo = 0.0
    integer_y = all(float(y).is_integer() for y in ys) and y_range is None
    y_ticks = [t for t in _nice_ticks(y_lo, y_hi, integer=integer_y) if y_lo - 1e-9 <= t <= y_hi + 1e-9]
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def sy(y: float) -> float:
        return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h

    out = [
        f'<svg class="chart line-chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" {_FONT}><title>{escape(title)}</title>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#d1d5db"/>',
    ]
    for t in y_ticks:
        y = sy(t)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f3"/>')
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{_tick_label(t)}</text>'
        )
    if integer_x:
        span = int(x_hi - x_lo)
        step = max(1, math.ceil(span / 12))
        x_ticks = [float(v) for v in range(math.ceil(x_lo), math.floor(x_hi) + 1, step)]
    else:
        x_ticks = _nice_ticks(x_lo, x_hi)
    for t in x_ticks:
        x = sx(t)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#9ca3af"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 17}" text-anchor="middle" fill="#4b5563">{_tick_label(t)}</text>'
        )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#111827">'
        f"{escape(x_label)}</text>"
    )
    out.append(
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
        f'fill="#111827">{escape(y_label)}</text>'
    )
    for s in series:
        if not s.points:
            continue
        pts = sorted(s.points)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(
            f'<polyline class="series" data-series="{escape(s.name)}" points="{path}" fill="none" '
            f'stroke="{s.color}" stroke-width="2"{dash}/>'
        )
        if s.markers:
            for x, y in pts:
                out.append(
                    f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{s.color}">'
                    f"<title>{escape(s.name)}: {_tick_label(x)} → {y:.3f}</title></circle>"
                )
    out.extend(legend)
    out.append("</svg>")
    return "\n".join(out)


def interval_chart(rows: list[IntervalRow], *, title: str, width: int = 880, label_width: int = 280) -> str:
    """Every agent's score as a dot with a whisker over its interval, on a 0..1 axis, one row each.

    A hollow diamond marks the sealed test score where one was measured; the highlighted row is the
    selected agent."""
    if not rows:
        return ""
    row_h, top, bottom, right = 22, 40, 40, 24
    height = top + bottom + row_h * len(rows)
    plot_x0, plot_w = label_width, width - label_width - right

    def sx(v: float) -> float:
        return plot_x0 + max(0.0, min(1.0, v)) * plot_w

    out = [
        f'<svg class="chart interval-chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" {_FONT}><title>{escape(title)}</title>',
    ]
    for i in range(11):
        x = sx(i / 10)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - bottom}" '
            f'stroke="{"#d1d5db" if i % 5 == 0 else "#eef0f3"}"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#4b5563">{i / 10:g}</text>'
        )
    out.append(
        f'<text x="{plot_x0 + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#111827">'
        "score (dot: search-split mean, bar: 95% interval, ◇: sealed test)</text>"
    )
    # Legend.
    out.append(f'<circle cx="{plot_x0 + 6}" cy="14" r="4.5" fill="{PALETTE[0]}"/>')
    out.append(f'<text x="{plot_x0 + 15}" y="18" fill="#111827">search split</text>')
    out.append(f'<circle cx="{plot_x0 + 106}" cy="14" r="4.5" fill="{PALETTE[2]}"/>')
    out.append(f'<text x="{plot_x0 + 115}" y="18" fill="#111827">selected</text>')
    if any(r.test is not None for r in rows):
        out.append(
            f'<path d="{_diamond(plot_x0 + 190, 14)}" fill="#fff" stroke="{PALETTE[1]}" stroke-width="1.6"/>'
        )
        out.append(f'<text x="{plot_x0 + 199}" y="18" fill="#111827">sealed test</text>')
    for i, row in enumerate(rows):
        cy = top + i * row_h + row_h / 2
        if row.highlight:
            out.append(
                f'<rect x="0" y="{cy - row_h / 2:.1f}" width="{width}" height="{row_h}" fill="#ecfdf5"/>'
            )
        color = PALETTE[2] if row.highlight else ("#9ca3af" if row.muted else PALETTE[0])
        label = row.label if len(row.label) <= 40 else row.label[:39] + "…"
        weight = ' font-weight="bold"' if row.highlight else ""
        out.append(
            f'<text x="{plot_x0 - 10}" y="{cy + 4:.1f}" text-anchor="end" fill="#111827"{weight}>'
            f"{escape(label)}</text>"
        )
        tip = escape(row.tooltip or f"{row.label}: {row.mean:.3f} [{row.low:.3f}, {row.high:.3f}]")
        out.append(f'<g class="agent-score"><title>{tip}</title>')
        out.append(
            f'<line x1="{sx(row.low):.1f}" x2="{sx(row.high):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
            f'stroke="{color}" stroke-width="2"/>'
        )
        for end in (row.low, row.high):
            out.append(
                f'<line x1="{sx(end):.1f}" x2="{sx(end):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}" '
                f'stroke="{color}" stroke-width="2"/>'
            )
        out.append(f'<circle cx="{sx(row.mean):.1f}" cy="{cy:.1f}" r="4.5" fill="{color}"/>')
        if row.test is not None:
            out.append(
                f'<path d="{_diamond(sx(row.test), cy)}" fill="#fff" fill-opacity="0.6" stroke="{PALETTE[1]}" '
                'stroke-width="1.6"/>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _legend(series: list[Series], *, x0: float, max_x: float) -> tuple[list[str], int]:
    """Legend entries laid out in rows that fit the chart's width; returns the SVG parts and row count."""
    parts: list[str] = []
    x, row = x0, 0
    for s in series:
        entry_w = 34 + len(s.name) * 6.8
        if x > x0 and x + entry_w > max_x:
            x, row = x0, row + 1
        y = 14 + row * 18
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<line x1="{x:.0f}" x2="{x + 22:.0f}" y1="{y - 4}" y2="{y - 4}" stroke="{s.color}" '
            f'stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{x + 27:.0f}" y="{y}" fill="#111827">{escape(s.name)}</text>')
        x += entry_w + 14
    return parts, row + 1


def _diamond(cx: float, cy: float, r: float = 5.5) -> str:
    return f"M{cx:.1f},{cy - r:.1f} L{cx + r:.1f},{cy:.1f} L{cx:.1f},{cy + r:.1f} L{cx - r:.1f},{cy:.1f} Z"
