"""Turning one event into messages: in-app notifications stored at once, e-mails and webhook posts queued as
deliveries, all in the consumer's transaction, each under a unique (key, recipient, channel)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bibliomesh_notify.adapters.delivery_repository import DeliveryRepository
from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.adapters.preference_repository import PreferenceRepository
from bibliomesh_notify.adapters.template_repository import TemplateRepository
from bibliomesh_notify.adapters.webhook_repository import WebhookRepository
from bibliomesh_notify.domain.messages import Channel, template_language
from bibliomesh_notify.domain.preferences import Preferences
from bibliomesh_notify.domain.webhook_events import matches
from bibliomesh_notify.service_layer.context import base_context, institution_name
from bibliomesh_notify.service_layer.recipients import Directory, Recipient
from bibliomesh_notify.service_layer.rendering import render_in_app_or_default
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.unit_of_work import UnitOfWork

_IDS = uuid.UUID("6f0d2b4e-6a59-4c43-9a53-6f1e0c1c4d11")
ContextFor = Callable[[str], dict[str, Any]]
"""Recipient language (`en`/`zh`) -> the message's own template variables."""


def stable_id(key: str, recipient: str, channel: str) -> str:
    """The same delivery always gets the same id (Message-ID, webhook-id), so a rare duplicate is recognisable."""
    return uuid.uuid5(_IDS, f"{key}|{recipient}|{channel}").hex


def wake_after_commit(uow: UnitOfWork, services: NotifyServices) -> None:
    def wake(_session: Any) -> None:
        services.signals.notifications.fire()
        services.signals.deliveries.fire()

    sa.event.listen(uow.session.sync_session, "after_commit", wake, once=True)


async def send_message(uow: UnitOfWork, services: NotifyServices, directory: Directory, *, kind: str,
                       recipients: list[Recipient], context_for: ContextFor, key: str, event_type: str | None,
                       request_id: str | None = None) -> None:
    """Queue `kind` for each recipient over the channels their preferences allow."""
    now = services.clock()
    chosen = await PreferenceRepository(uow.session).many([r.owner for r in recipients])
    notes: list[dict[str, Any]] = []
    mails: list[dict[str, Any]] = []
    for recipient in recipients:
        preferences = Preferences.from_row(chosen.get(recipient.owner))
        library = await directory.contact(recipient.institution)
        context = {**base_context(recipient.name, institution_name(library, recipient.institution,
                                                                   recipient.language)),
                   **context_for(recipient.language)}
        language = template_language(recipient.language)
        if recipient.in_app and preferences.wants(kind, Channel.IN_APP):
            override = await TemplateRepository(uow.session).source(recipient.institution, kind, "in_app", language)
            shown = render_in_app_or_default(kind, language, context, override, recipient.institution)
            notes.append({"recipient": recipient.owner, "dedup_key": key, "message_kind": kind,
                          "event_type": event_type, "institution": recipient.institution, "request_id": request_id,
                          "title": shown.title, "body": shown.body, "created_at": now,
                          "unconfirmed_patron_of": recipient.unconfirmed_patron_of})
        if recipient.email and preferences.wants(kind, Channel.EMAIL):
            mails.append(queued_delivery(key, recipient.owner, Channel.EMAIL, recipient.email, now, kind=kind,
                                   event_type=event_type, language=language, institution=recipient.institution,
                                   context=context, status="digest" if preferences.digest else "pending"))
    await NotificationRepository(uow.session).add(notes)
    await DeliveryRepository(uow.session).add(mails)
    wake_after_commit(uow, services)


async def queue_webhooks(uow: UnitOfWork, services: NotifyServices, *, event_id: str, event_type: str,
                         occurred_at: datetime, bodies: dict[str, dict[str, Any]]) -> None:
    """Queue the event for every enabled webhook of the institutions in `bodies` subscribed to its type;
    each institution gets its own view of the data."""
    now = services.clock()
    rows = []
    for hook in await WebhookRepository(uow.session).enabled_for(sorted(bodies)):
        if not matches(hook["event_types"], event_type):
            continue
        body = json.dumps({"type": event_type, "timestamp": occurred_at.isoformat(), "event_id": event_id,
                           "data": bodies[hook["institution"]]}, ensure_ascii=False, separators=(",", ":"))
        rows.append(queued_delivery(event_id, f"webhook:{hook['id']}", Channel.WEBHOOK, hook["url"], now,
                              kind=None, event_type=event_type, language="en", institution=hook["institution"],
                              context={"body": body}, status="pending", webhook_id=hook["id"]))
    await DeliveryRepository(uow.session).add(rows)
    wake_after_commit(uow, services)


def queued_delivery(key: str, recipient: str, channel: Channel, address: str, now: datetime, *, kind: str | None,
              event_type: str | None, language: str, institution: str, context: dict[str, Any], status: str,
              webhook_id: int | None = None) -> dict[str, Any]:
    return {"dedup_key": key, "recipient": recipient, "channel": channel.value, "address": address,
            "message_kind": kind, "event_type": event_type, "language": language, "institution": institution,
            "webhook_id": webhook_id, "context": context, "message_id": stable_id(key, recipient, channel.value),
            "status": status, "attempts": 0, "next_attempt_at": now, "created_at": now}
