"""Inline SVG bar charts for HTML reports, readable on a screen and on paper.

Days or weeks are vertical bars with at most 12 horizontal date labels and a y axis in the chart's
unit; categories (policies, classifications) are horizontal bars with their names. A chart with
nothing to draw (no points, or all zero) is one sentence instead of an empty grid.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from shifty_ent.report.document import Chart
from shifty_ent.report.html_values import CURRENCY, esc, money, number, one_line

MAX_AXIS_LABELS = 12
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _nice_step(top: float, ticks: int = 4) -> float:
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _tick(value: float, unit: str) -> str:
    if unit == "USD":
        return f"{CURRENCY}{value:,.0f}" if float(value).is_integer() else f"{CURRENCY}{value:,.2f}"
    return number(value)


def _value_text(value: float, unit: str) -> str:
    return money(value) or "" if unit == "USD" else number(value)


def _day_label(day: str, with_year: bool) -> str:
    moment = datetime.strptime(day, "%Y-%m-%d")
    text = f"{moment:%b} {moment.day}"
    return f"{text} {moment.year}" if with_year else text


def chart_html(chart: Chart) -> str:
    """An inline SVG chart, or one sentence when there is nothing to draw."""
    if not chart.points or all(v == 0 for _, v in chart.points):
        sentence = chart.empty or f"No {chart.unit} in this period: nothing to chart."
        return f'<p class="empty">{one_line(sentence)}</p>'
    if all(_ISO_DAY.match(lbl) for lbl, _ in chart.points):
        return _time_bars(chart)
    return _category_bars(chart)


def _svg_open(chart: Chart, width: int, height: int) -> list[str]:
    return [
        f'<svg role="img" aria-label="{esc(chart.title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="DejaVu Sans, sans-serif">',
        f"<title>{esc(chart.title)}</title>",
    ]


def _time_bars(chart: Chart, width: int = 760, height: int = 250) -> str:
    """Vertical bars over days (or weeks), at most ``MAX_AXIS_LABELS`` labels, none rotated."""
    left, right, top, bottom = 70, 16, 14, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(v for _, v in chart.points)
    step = _nice_step(peak)
    if all(float(v).is_integer() for _, v in chart.points):
        step = max(1.0, math.ceil(step))
    ticks = max(1, math.ceil(peak / step))
    scale_top = step * ticks
    parts = _svg_open(chart, width, height)
    for i in range(ticks + 1):
        y = top + plot_h - i / ticks * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{"#8c959f" if i == 0 else "#e1e4e8"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#57606a">{esc(_tick(step * i, chart.unit))}</text>'
        )
    n = len(chart.points)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.7)
    every = math.ceil(n / MAX_AXIS_LABELS)
    years = {lbl[:4] for lbl, _ in chart.points}
    for i, (lbl, value) in enumerate(chart.points):
        bar_h = 0.0 if value <= 0 else max(1.0, value / scale_top * plot_h)
        x = left + i * slot + (slot - bar_w) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="#0b5cad"><title>{esc(lbl)}: '
            f"{esc(_value_text(value, chart.unit))} {esc(chart.unit)}</title></rect>"
        )
        if i % every == 0:
            cx = left + i * slot + slot / 2
            parts.append(
                f'<line x1="{cx:.1f}" y1="{top + plot_h}" x2="{cx:.1f}" y2="{top + plot_h + 4}" '
                'stroke="#8c959f"/>'
                f'<text x="{cx:.1f}" y="{top + plot_h + 18}" font-size="12" fill="#1b1f24" '
                f'text-anchor="middle">{esc(_day_label(lbl, len(years) > 1))}</text>'
            )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" font-size="12" fill="#57606a" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})" text-anchor="middle">'
        f"{esc(chart.unit)}</text></svg>"
    )
    first, last = chart.points[0][0], chart.points[-1][0]
    total = sum(v for _, v in chart.points)
    caption = (
        f'<p class="caption">{esc(first)} to {esc(last)}, {n} bars; '
        f"total {esc(_value_text(total, chart.unit))} {esc(chart.unit)}.</p>"
    )
    return "".join(parts) + caption


def _category_bars(chart: Chart, width: int = 760) -> str:
    """Horizontal bars, one per category, its name at the left and its value at the end."""
    row_h, left, right, top = 24, 190, 90, 6
    points = chart.points
    if len(points) > MAX_AXIS_LABELS:  # the largest ones, and the rest together
        ranked = sorted(points, key=lambda p: p[1], reverse=True)
        rest = ranked[MAX_AXIS_LABELS - 1 :]
        points = [*ranked[: MAX_AXIS_LABELS - 1], (f"{len(rest)} others", sum(v for _, v in rest))]
    height = top * 2 + row_h * len(points)
    peak = max(v for _, v in points) or 1.0
    plot_w = width - left - right
    parts = _svg_open(chart, width, height)
    for i, (lbl, value) in enumerate(points):
        y = top + i * row_h
        shown = lbl if len(lbl) <= 26 else lbl[:25] + "\u2026"
        bar_w = 0.0 if value <= 0 else max(1.0, value / peak * plot_w)
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="12" text-anchor="end" '
            f'fill="#1b1f24"><title>{esc(lbl)}</title>{esc(shown)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{bar_w:.1f}" height="{row_h - 8}" '
            f'fill="#0b5cad"/>'
            f'<text x="{left + bar_w + 6:.1f}" y="{y + 16}" font-size="12" fill="#1b1f24">'
            f"{esc(_value_text(value, chart.unit))}</text>"
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - top}" stroke="#8c959f"/></svg>'
    )
    return "".join(parts)


__all__ = ["MAX_AXIS_LABELS", "chart_html"]
