"""Sending queued e-mails: claim a batch, hold back what would exceed a recipient's rate, render, send over one
connection, record each outcome. A dead server only makes e-mails wait (backoff); webhooks and the app go on."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from bibliomesh_notify.adapters.delivery_repository import DeliveryRepository
from bibliomesh_notify.adapters.mailer import Mailer, mailer_for
from bibliomesh_notify.adapters.template_repository import TemplateRepository
from bibliomesh_notify.service_layer import outcomes
from bibliomesh_notify.service_layer.rendering import render_email
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.runtime import ServiceRuntime

log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)


async def send_due_email(runtime: ServiceRuntime, services: NotifyServices, mailer: Mailer, owner: str) -> int:
    """One round; returns how many deliveries it claimed (0: nothing is due)."""
    settings = services.settings
    now = services.clock()
    async with runtime.unit_of_work() as uow:
        repository = DeliveryRepository(uow.session)
        claimed = await repository.claim("email", now, settings.delivery_batch,
                                         timedelta(seconds=settings.lease_seconds), owner)
        if not claimed:
            return 0
        ready, later = await _within_rate(repository, claimed, now, owner, settings.email_per_minute)
        messages = [await _compose(TemplateRepository(uow.session), row, settings.mail_from, now) for row in ready]
        await uow.commit()
    results = await mailer.send([m for m in messages if isinstance(m, EmailMessage)]) if ready else []
    done = iter(results)
    finished = services.clock()
    async with runtime.unit_of_work() as uow:
        repository = DeliveryRepository(uow.session)
        for row, when in later:
            await repository.finish(row["id"], owner, {"status": "pending", "next_attempt_at": when})
        for row, message in zip(ready, messages, strict=True):
            outcome = next(done) if isinstance(message, EmailMessage) else message
            await repository.finish(row["id"], owner, _record(row, outcome, finished, services))
        await uow.commit()
    return len(claimed)


def _record(row: dict[str, Any], outcome: Exception | None, now: datetime, services: NotifyServices
            ) -> dict[str, Any]:
    if outcome is None:
        return outcomes.sent(row, now)
    permanent = (isinstance(outcome, aiosmtplib.SMTPResponseException) and outcome.code >= 500) or \
        isinstance(outcome, aiosmtplib.SMTPRecipientsRefused | LookupError)
    log.warning("e-mail not delivered", extra={"delivery_id": row["id"], "error": repr(outcome)[:300],
                                               "attempts": row["attempts"] + 1})
    return outcomes.failed(row, now, repr(outcome), services.settings,
                           max_attempts=services.settings.email_max_attempts, permanent=permanent)


async def _within_rate(repository: DeliveryRepository, claimed: list[dict[str, Any]], now: datetime, owner: str,
                       per_minute: int) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], datetime]]]:
    """Split the batch into what may go now and what waits (with when), at most `per_minute` per address."""
    ready: list[dict[str, Any]] = []
    later: list[tuple[dict[str, Any], datetime]] = []
    recent: dict[str, list[datetime]] = {}
    for row in claimed:
        address = row["address"].lower()
        if address not in recent:
            recent[address] = sorted(await repository.recent_to(row["address"], now - MINUTE, owner))
        times = recent[address]
        if len(times) >= per_minute:
            later.append((row, times[len(times) - per_minute] + MINUTE))
        else:
            times.append(now)
            ready.append(row)
    return ready, later


async def _compose(templates: TemplateRepository, row: dict[str, Any], sender: str, now: datetime
                   ) -> EmailMessage | Exception:
    kind, language = row["message_kind"], row["language"]
    override = await templates.source(row["institution"], kind, "email", language)
    try:
        try:
            rendered = render_email(kind, language, row["context"], override)
        except Exception as exc:
            if override is None:
                raise
            log.warning("the institution's template failed; using the built-in one", extra={
                "institution": row["institution"], "message_kind": kind, "channel": "email",
                "error": str(exc)[:300]})
            rendered = render_email(kind, language, row["context"])
    except Exception as exc:
        return LookupError(f"cannot render {kind}: {exc}")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row["address"]
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{row['message_id']}@notify.bibliomesh>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = language  # after the body: set_content drops Content-* headers
    return message


def email_worker(services: NotifyServices) -> Callable[[ServiceRuntime], Awaitable[None]]:
    async def notify_email(runtime: ServiceRuntime) -> None:
        mailer = mailer_for(services.settings)
        owner = uuid.uuid4().hex
        try:
            while True:
                if await send_due_email(runtime, services, mailer, owner):
                    continue
                if await services.signals.deliveries.wait(services.settings.delivery_poll_seconds):
                    # Woken by a commit: let a burst of events queue up, then send it as one batch.
                    await asyncio.sleep(services.settings.email_linger_seconds)
        finally:
            mailer.close()

    return notify_email
