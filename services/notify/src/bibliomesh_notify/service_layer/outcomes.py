"""What a failed or successful try does to a delivery: sent, retried later (backoff with jitter), or given up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bibliomesh_notify.domain.backoff import retry_pause
from bibliomesh_notify.settings import NotifySettings


def sent(row: dict[str, Any], now: datetime, status_code: int | None = None) -> dict[str, Any]:
    return {"status": "sent", "sent_at": now, "attempts": row["attempts"] + 1, "last_error": None,
            "last_status_code": status_code, "next_attempt_at": None}


def failed(row: dict[str, Any], now: datetime, error: str, settings: NotifySettings, *, max_attempts: int,
           permanent: bool = False, status_code: int | None = None) -> dict[str, Any]:
    attempts = row["attempts"] + 1
    give_up = permanent or attempts >= max_attempts
    return {"status": "failed" if give_up else "pending", "attempts": attempts, "last_error": error[:2000],
            "last_status_code": status_code,
            "next_attempt_at": None if give_up else now + retry_pause(attempts, settings.retry_first_seconds,
                                                                       settings.retry_max_seconds)}
