"""Calendar dates people give (needed by, due by) against the clock of a platform that spans time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# UTC-12 is the last zone to leave a date: until it does, the date is still today for someone.
_LAST_ZONE = timedelta(hours=12)


def earliest_today(now: datetime | None = None) -> date:
    """The earliest date that is still today somewhere on Earth: a date before it is past for everyone, so a
    person's "today" is never refused as past because the server keeps UTC (or its own zone)."""
    return ((now or datetime.now(UTC)).astimezone(UTC) - _LAST_ZONE).date()
