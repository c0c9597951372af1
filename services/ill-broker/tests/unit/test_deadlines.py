"""A lender's time to answer counts working days only: weekends and its closed periods do not count, and a rush
request gets a quarter of the time."""

from __future__ import annotations

from datetime import UTC, datetime

from bibliomesh_ill.domain.deadlines import answer_deadline, answer_hours


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in March 2025 (Monday the 10th ... Sunday the 16th, Monday the 17th ...)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def test_a_working_week_day_counts_in_full() -> None:
    assert answer_deadline(at(10, 9), {}, "normal") == at(12, 9)            # Monday 09:00 + 48 h
    assert answer_deadline(at(10, 9), {"answer_within_hours": 8}, "normal") == at(10, 17)


def test_the_weekend_is_skipped() -> None:
    assert answer_deadline(at(14, 18), {}, "normal") == at(18, 18)          # Friday 18:00 -> Tuesday 18:00
    assert answer_deadline(at(15, 10), {}, "normal") == at(19, 0)           # asked Saturday: counts from Monday
    assert answer_deadline(at(14, 23, 30), {"answer_within_hours": 1}, "normal") == at(17, 0, 30)


def test_closed_periods_are_skipped() -> None:
    closed = {"closed_periods": [{"start": "2025-03-11", "end": "2025-03-12", "reason": "stocktaking"}]}
    # Monday 09:00: 15 h on Monday, Tuesday and Wednesday closed, 24 h on Thursday, 9 h on Friday
    assert answer_deadline(at(10, 9), closed, "normal") == at(14, 9)
    # closed over a weekend and into the next week: both are skipped
    long_closed = {"closed_periods": [{"start": "2025-03-13", "end": "2025-03-18"}]}
    assert answer_deadline(at(12, 12), {**long_closed, "answer_within_hours": 24}, "normal") == at(19, 12)


def test_rush_gets_a_quarter_of_the_time_and_at_least_four_hours() -> None:
    assert answer_hours({}, "rush") == 12
    assert answer_hours({"answer_within_hours": 8}, "rush") == 4
    assert answer_hours({"answer_within_hours": 4}, "rush") == 4
    assert answer_deadline(at(10, 9), {}, "rush") == at(10, 21)
    assert answer_deadline(at(14, 20), {}, "rush") == at(17, 8)             # Friday 20:00: 4 h, then Monday
    assert answer_deadline(at(10, 9), {}, "rush") < answer_deadline(at(10, 9), {}, "normal")


def test_a_policy_closed_for_ever_does_not_hang() -> None:
    forever = {"closed_periods": [{"start": "2000-01-01", "end": "2999-12-31"}]}
    assert answer_deadline(at(10, 9), forever, "normal") > at(10, 9)
