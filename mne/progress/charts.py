"""Server-side SVG geometry for the dashboard's charts (no script, no CDN, no inline style).

Each function returns plain numbers and strings that a template turns into SVG attributes;
the same figures are always rendered as a table beside the chart for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Series:
    name: str
    css: str
    segments: list[str] = field(default_factory=list)  # polyline "x,y x,y" runs, broken at gaps
    points: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, tooltip


@dataclass
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    series: list[Series] = field(default_factory=list)
    bars: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # x, y, w, h, tooltip
    rules: list[tuple[float, str, str]] = field(default_factory=list)  # y, label, css

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


def _x_positions(n: int, left: int, width: int) -> list[float]:
    if n == 1:
        return [left + width / 2]
    step = width / (n - 1)
    return [left + i * step for i in range(n)]


def _x_labels(codes: Sequence[str], xs: Sequence[float]) -> list[tuple[float, str]]:
    """Every period when few, else the first quarter of each year (labelled by the year)."""
    if len(codes) <= 8:
        return [(x, c) for x, c in zip(xs, codes, strict=True)]
    return [(x, c[:4]) for x, c in zip(xs, codes, strict=True) if c.endswith("Q1") or c == codes[0]]


def share_trend(codes: Sequence[str], series: Sequence[tuple[str, str, Sequence[float | None]]]) -> Chart:
    """Lines of shares (0–1) over periods: e.g. mean progress and on-track share."""
    chart = Chart(width=640, height=240, left=46, right=14, top=12, bottom=34, y_ticks=[], x_labels=[])
    plot_w = chart.width - chart.left - chart.right
    plot_h = chart.height - chart.top - chart.bottom

    def y(v: float) -> float:
        return round(chart.top + (1 - min(max(v, 0.0), 1.0)) * plot_h, 1)

    xs = [round(x, 1) for x in _x_positions(len(codes), chart.left, plot_w)] if codes else []
    chart.y_ticks = [(y(v), f"{round(v * 100)} %") for v in (0, 0.25, 0.5, 0.75, 1)]
    chart.x_labels = _x_labels(codes, xs)
    for name, css, values in series:
        s = Series(name, css)
        run: list[str] = []
        for x, code, v in zip(xs, codes, values, strict=True):
            if v is None:
                if run:
                    s.segments.append(" ".join(run))
                run = []
                continue
            run.append(f"{x},{y(v)}")
            s.points.append((x, y(v), f"{code}: {name} {round(v * 100)} %"))
        if run:
            s.segments.append(" ".join(run))
        chart.series.append(s)
    return chart


def line_history(codes: Sequence[str], actual: Sequence[float | None], expected: Sequence[float | None],
                 target: float, baseline: float) -> Chart:
    """One line over its periods: bars for the actual to date, a line for where it should be,
    and rules for the baseline and the life-of-project target (all in the indicator's unit)."""
    chart = Chart(width=640, height=240, left=56, right=14, top=14, bottom=34, y_ticks=[], x_labels=[])
    plot_w = chart.width - chart.left - chart.right
    plot_h = chart.height - chart.top - chart.bottom
    values = [v for v in (*actual, *expected, target, baseline) if v is not None]
    top = max(values + [1.0]) * 1.1

    def y(v: float) -> float:
        return round(chart.top + (1 - max(v, 0.0) / top) * plot_h, 1)

    n = len(codes)
    step = plot_w / max(n, 1)
    centres = [chart.left + step * (i + 0.5) for i in range(n)]
    chart.x_labels = _x_labels(codes, [round(c, 1) for c in centres])
    chart.y_ticks = [(y(top * f / 1.1), _short(top * f / 1.1)) for f in (0, 0.275, 0.55, 0.825, 1.1)]
    bar_w = round(step * 0.6, 1)
    for c, code, v in zip(centres, codes, actual, strict=True):
        if v is not None:
            chart.bars.append((round(c - bar_w / 2, 1), y(v), bar_w, round(y(0) - y(v), 1), f"{code}: actual {_short(v)}"))
    s = Series("Expected by then", "series-expected")
    run: list[str] = []
    for c, code, v in zip(centres, codes, expected, strict=True):
        if v is None:
            continue
        run.append(f"{round(c, 1)},{y(v)}")
        s.points.append((round(c, 1), y(v), f"{code}: expected {_short(v)}"))
    if run:
        s.segments.append(" ".join(run))
    chart.series.append(s)
    chart.rules = [(y(target), f"target {_short(target)}", "rule-target")]
    if baseline:
        chart.rules.append((y(baseline), f"baseline {_short(baseline)}", "rule-baseline"))
    return chart


def _short(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"{v / 1000:.0f}k"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.1f}"
