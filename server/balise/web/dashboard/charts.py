"""Server-rendered SVG charts: geometry only (bars, lines, ticks); templates draw the markup.

Charts are drawn twice, at a wide and a narrow view-box width, and CSS shows the one that fits,
so their text stays readable on a desktop and on a phone. Colours come from CSS classes, so
dark mode needs nothing here. Every bucket carries a text tip (an SVG <title>, shown on hover
without scripts) and templates also give the numbers as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

WIDE = 960
NARROW = 360
HEIGHT = 240
MARGIN = {"left": 44, "right": 12, "top": 12, "bottom": 28}


@dataclass(frozen=True)
class Series:
    key: str
    css: str
    label: str


@dataclass
class Segment:
    y: float
    height: float
    css: str


@dataclass
class Bucket:
    x: float  # left edge of the bucket's hover area
    step: float
    bar_x: float
    bar_width: float
    segments: list[Segment]
    tip: str


@dataclass
class Line:
    css: str
    label: str
    path: str
    dots: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Chart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    buckets: list[Bucket]
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]


def nice_max(value: float) -> tuple[int, int]:
    """A round top for the y axis and its step, with 3 to 5 steps: nice_max(37) == (40, 10)."""
    if value <= 0:
        return 4, 1
    best: tuple[int, int] | None = None
    for steps in (4, 5, 3):
        raw = value / steps
        magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
        step = next(
            int(f * magnitude)
            for f in (1, 2, 2.5, 5, 10)
            if f * magnitude >= raw and f * magnitude == int(f * magnitude)
        )
        if best is None or step * steps < best[0]:
            best = (step * steps, step)
    return best  # type: ignore[return-value]


def _x_ticks(
    count: int, left: float, step: float, labels: Sequence[str], wanted: int
) -> list[Tick]:
    if count == 0:
        return []
    every = max(1, math.ceil(count / wanted))
    return [Tick(left + step * (i + 0.5), labels[i]) for i in range(0, count, every)]


@dataclass(frozen=True)
class _Frame:
    """Plot area and scales of one chart."""

    left: float
    top: float
    right: float
    bottom: float
    scale: float  # pixels per unit
    step: float  # pixels per bucket

    def x(self, i: int) -> float:
        return self.left + self.step * i

    def y(self, value: int) -> float:
        return round(self.bottom - value * self.scale, 2)


def _bucket(
    point: dict[str, Any], i: int, frame: _Frame, stacked: Sequence[Series], tip: str
) -> Bucket:
    bar_width = max(frame.step * 0.72, 1.0) if frame.step >= 2 else frame.step
    y = float(frame.bottom)
    segments = []
    for s in stacked:
        h = int(point[s.key]) * frame.scale
        if h > 0:
            y -= h
            segments.append(Segment(round(y, 2), round(h, 2), s.css))
    x = frame.x(i)
    bar_x = x + (frame.step - bar_width) / 2
    return Bucket(
        round(x, 2), round(frame.step, 2), round(bar_x, 2), round(bar_width, 2), segments, tip
    )


def _line(points: Sequence[dict[str, Any]], s: Series, frame: _Frame) -> Line:
    coords = [
        (round(frame.x(i) + frame.step / 2, 2), frame.y(int(p[s.key])))
        for i, p in enumerate(points)
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(coords))
    dots = []
    if len(points) <= 60:  # dots only where they stay apart, and only on non-zero values
        dots = [xy for xy, p in zip(coords, points, strict=True) if int(p[s.key]) > 0]
    return Line(s.css, s.label, path, dots)


def time_chart(
    points: Sequence[dict[str, Any]],
    *,
    stacked: Sequence[Series],
    lines: Sequence[Series] = (),
    labels: Sequence[str],
    tip: Callable[[int], str],
    width: int = WIDE,
    height: int = HEIGHT,
    int_label: Callable[[int], str] = str,
) -> Chart:
    """Stacked bars (`stacked`, bottom first) and lines (`lines`) over time buckets."""
    left, top = MARGIN["left"], MARGIN["top"]
    right, bottom = width - MARGIN["right"], height - MARGIN["bottom"]
    peak = max(
        [sum(int(p[s.key]) for s in stacked) for p in points]
        + [int(p[s.key]) for p in points for s in lines]
        + [0]
    )
    top_value, step_value = nice_max(peak)
    count = len(points)
    frame = _Frame(
        left, top, right, bottom, (bottom - top) / top_value, (right - left) / max(count, 1)
    )
    return Chart(
        width,
        height,
        left,
        top,
        right,
        bottom,
        [_bucket(p, i, frame, stacked, tip(i)) for i, p in enumerate(points)],
        [_line(points, s, frame) for s in lines],
        [Tick(frame.y(v), int_label(v)) for v in range(0, top_value + 1, step_value)],
        _x_ticks(count, left, frame.step, labels, 8 if width >= WIDE else 4),
    )


@dataclass
class Share:
    value: str | None  # None: the clicks without a value (direct, no UTM, unknown...)
    count: int
    percent: float  # of the list's total, for the bar width
    title: str | None = None  # top links: the link's title beside its slug


def shares(items: Sequence[dict[str, Any]], total: int | None = None) -> list[Share]:
    """Top-list rows with their share of `total` (default: of the rows' own sum)."""
    whole = total or sum(int(i["clicks"]) for i in items) or 1
    return [
        Share(
            None if i["value"] is None else str(i["value"]),
            int(i["clicks"]),
            round(100 * int(i["clicks"]) / whole, 1),
            i.get("title"),
        )
        for i in items
    ]
