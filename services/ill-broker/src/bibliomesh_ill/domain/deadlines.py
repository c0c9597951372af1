"""When a lender's time to answer runs out: its policy's hours, counted on working days only.

Weekends and the lender's closed periods do not count, so "48 hours" asked on a Friday evening ends on Tuesday
evening. A rush request gets a quarter of the time (at least four working hours).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

RUSH_SHARE = 0.25
RUSH_MINIMUM_HOURS = 4


def answer_hours(policy: dict[str, Any], service_level: str) -> float:
    hours = float(policy.get("answer_within_hours", 48))
    return max(RUSH_MINIMUM_HOURS, hours * RUSH_SHARE) if service_level == "rush" else hours


def _working(day: date, closed: list[tuple[date, date]]) -> bool:
    return day.weekday() < 5 and not any(start <= day <= end for start, end in closed)


def answer_deadline(asked_at: datetime, policy: dict[str, Any], service_level: str) -> datetime:
    """`asked_at` plus the answer time, skipping non-working days."""
    closed = [(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))
              for p in policy.get("closed_periods", [])]
    remaining = timedelta(hours=answer_hours(policy, service_level))
    moment = asked_at
    for _ in range(3660):  # ten years of days: a policy closed for longer is a data error, not a reason to hang
        midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), moment.tzinfo)
        if _working(moment.date(), closed):
            if moment + remaining <= midnight:
                return moment + remaining
            remaining -= midnight - moment
        moment = midnight
    return moment
