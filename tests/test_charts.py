"""Chart geometry: round axis tops, bars proportional to the numbers, stacked bottom first."""

from __future__ import annotations

import pytest

from balise.web.dashboard import charts


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, (4, 1)), (7, (8, 2)), (37, (40, 10)), (120, (125, 25)), (999, (1000, 250))],
)
def test_axis_tops_are_round_and_just_above_the_peak(value, expected):
    assert charts.nice_max(value) == expected


def test_bars_stack_bottom_first_in_proportion_and_the_line_follows_its_values():
    points = [
        {"confirmed": 30, "served_only": 10, "unique_visitors": 20},
        {"confirmed": 0, "served_only": 0, "unique_visitors": 0},
        {"confirmed": 5, "served_only": 15, "unique_visitors": 10},
    ]
    chart = charts.time_chart(
        points,
        stacked=[charts.Series("confirmed", "a", "A"), charts.Series("served_only", "b", "B")],
        lines=[charts.Series("unique_visitors", "c", "C")],
        labels=["x", "y", "z"],
        tip=lambda i: f"tip {i}",
        width=400,
        height=200,
    )
    plot = chart.bottom - chart.top
    first = chart.buckets[0]
    assert [s.css for s in first.segments] == ["a", "b"]
    assert first.segments[0].height == pytest.approx(plot * 30 / 40)  # axis top: 40
    assert first.segments[1].y + first.segments[1].height == pytest.approx(first.segments[0].y)
    assert chart.buckets[1].segments == []
    assert [b.tip for b in chart.buckets] == ["tip 0", "tip 1", "tip 2"]
    assert [t.label for t in chart.y_ticks] == ["0", "10", "20", "30", "40"]
    assert [t.label for t in chart.x_ticks] == ["x", "y", "z"]
    line = chart.lines[0]
    assert line.path.count("L") == 2
    assert len(line.dots) == 2  # no dot where the value is 0


def test_many_buckets_get_fewer_axis_labels():
    points = [{"n": i} for i in range(100)]
    chart = charts.time_chart(
        points,
        stacked=[charts.Series("n", "a", "A")],
        labels=[str(i) for i in range(100)],
        tip=str,
        width=charts.NARROW,
    )
    assert len(chart.x_ticks) <= 4 and len(chart.buckets) == 100


def test_top_list_shares_are_of_the_total_clicks():
    rows = charts.shares([{"value": "t.co", "clicks": 30}, {"value": "x", "clicks": 10}], 120)
    assert [(r.value, r.count, r.percent) for r in rows] == [("t.co", 30, 25.0), ("x", 10, 8.3)]
