"""Charts are drawn on the server as SVG: escaped, named for screen readers, scaled sensibly."""

from __future__ import annotations

from bibliomesh_web.charts import bar_chart, line_chart, nice_ceiling, paired_bars
from bibliomesh_web.pages.dashboard import periods_between


def test_text_in_charts_is_escaped_and_every_chart_is_named() -> None:
    svg = bar_chart([("<script>alert(1)</script>", 3.0)], title="Why & how", desc="d", chart_id="c")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'role="img"' in svg and '<title id="c-t">Why &amp; how</title>' in svg


def test_a_line_chart_leaves_gaps_for_quiet_periods() -> None:
    svg = line_chart([("W1", 50.0), ("W2", None), ("W3", 75.0), ("W4", 80.0)], title="t", desc="d", chart_id="l",
                     top=100)
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1


def test_paired_bars_draw_two_bars_per_institution() -> None:
    svg = paired_bars([("A", 3, 1), ("B", 0, 2)], ("lent", "borrowed"), title="t", desc="d", chart_id="p")
    assert svg.count("<rect") == 2 + 4


def test_axes_end_at_round_numbers() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 12, 49)] == [1.0, 0.5, 1, 10, 20, 50]


def test_every_period_between_two_dates_is_named_like_the_broker_names_it() -> None:
    assert periods_between("2025-01-30T10:00:00Z", "2025-02-02T00:00:00Z", "day") == [
        "2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
    assert periods_between("2024-12-28T00:00:00Z", "2025-01-10T00:00:00Z", "week") == [
        "2024-W52", "2025-W01", "2025-W02"]
    assert periods_between("2025-01-15T00:00:00Z", "2025-03-01T00:00:00Z", "month") == [
        "2025-01", "2025-02", "2025-03"]
