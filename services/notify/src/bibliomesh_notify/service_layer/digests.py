"""Daily digests: e-mails that recipients chose to get as a digest wait (status `digest`) until the configured
hour, then go out as one e-mail per recipient, to the address of their latest message (an address changed during
the day gets everything). One replica sends a day's digests: the day is claimed in the same transaction that
queues them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bibliomesh_notify.adapters.delivery_repository import DeliveryRepository
from bibliomesh_notify.adapters.tables import digest_runs
from bibliomesh_notify.domain.messages import DIGEST, Channel
from bibliomesh_notify.service_layer.fan_out import queued_delivery, wake_after_commit
from bibliomesh_notify.service_layer.rendering import render_in_app
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.db import insert_new
from meshkit.runtime import ServiceRuntime

LIMIT = 50_000


def digest_day(now: datetime, hour: int, timezone: str) -> str | None:
    """The day whose digests are due at `now`, or None before the digest hour."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date().isoformat() if local.hour >= hour else None


async def send_digests(runtime: ServiceRuntime, services: NotifyServices, now: datetime | None = None) -> int:
    """Queue today's digests if their hour has come and nobody did yet; returns how many were queued."""
    now = now or services.clock()
    settings = services.settings
    day = digest_day(now, settings.digest_hour, settings.digest_timezone)
    if day is None:
        return 0
    async with runtime.unit_of_work() as uow:
        if not await insert_new(uow.session, digest_runs, [{"day": day, "ran_at": now}]):
            return 0
        repository = DeliveryRepository(uow.session)
        waiting: dict[str, list[dict[str, Any]]] = {}
        for row in await repository.waiting_for_digest(LIMIT):
            waiting.setdefault(row["recipient"], []).append(row)
        queued = 0
        for rows in waiting.values():
            # A digest that is not stored (the day's exists already) leaves its rows for the next one: none is lost.
            if await repository.add([_digest(day, rows, now)]):
                await repository.mark_digested([row["id"] for row in rows], now)
                queued += 1
        wake_after_commit(uow, services)
        await uow.commit()
    return queued


def _digest(day: str, rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """One recipient's digest; `rows` are in the order they were queued, so the last one is the most current."""
    latest = rows[-1]
    items = []
    for row in rows:
        shown = render_in_app(row["message_kind"], row["language"], row["context"])
        items.append({"title": shown.title, "body": shown.body})
    context = {"recipient_name": latest["context"].get("recipient_name", ""),
               "institution_name": latest["context"].get("institution_name", ""), "day": day, "items": items}
    return queued_delivery(f"digest:{day}", latest["recipient"], Channel.EMAIL, latest["address"], now, kind=DIGEST,
                           event_type=None, language=latest["language"], institution=latest["institution"],
                           context=context, status="pending")


def digest_worker(services: NotifyServices) -> Callable[[ServiceRuntime], Awaitable[None]]:
    async def notify_digests(runtime: ServiceRuntime) -> None:
        while True:
            await send_digests(runtime, services)
            await asyncio.sleep(services.settings.digest_poll_seconds)

    return notify_digests
