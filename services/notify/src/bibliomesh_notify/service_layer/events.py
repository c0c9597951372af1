"""Handling the events notify listens to: the routing table decides who hears what."""

from __future__ import annotations

from typing import Any

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.events.catalog import ImportFinishedV1
from bibliomesh_contracts.events.ill import AcquisitionSuggestedV1, RequestStepV1
from bibliomesh_notify.domain.routing import routes_for
from bibliomesh_notify.service_layer.context import import_context, request_context, suggestion_context
from bibliomesh_notify.service_layer.fan_out import queue_webhooks, send_message
from bibliomesh_notify.service_layer.held_notifications import settle_held_notifications
from bibliomesh_notify.service_layer.recipients import Directory, Parties
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.unit_of_work import UnitOfWork


async def on_request_step(uow: UnitOfWork, services: NotifyServices, envelope: EventEnvelope,
                          step: RequestStepV1) -> None:
    directory = Directory(uow.session)
    parties = Parties(borrower=step.borrower, lender=step.lender, patron=step.patron_id, request_id=step.request_id)
    contacts = {code: await directory.contact(code) for code in (step.borrower, step.lender) if code}
    held: set[str] = set()
    for route in routes_for(envelope.type):
        key = (f"request:{step.request_id}:{route.message_kind}" if route.once_per_request else str(envelope.id))
        recipients = await directory.resolve(route.audience, parties)
        held.update(r.owner for r in recipients if r.unconfirmed_patron_of is not None)
        await send_message(uow, services, directory, kind=route.message_kind, recipients=recipients,
                           context_for=lambda language: request_context(step, contacts, language),
                           key=key, event_type=envelope.type, request_id=step.request_id)
    for subject in sorted(held):
        # The directory may have announced them since `resolve` looked (another consumer, another replica).
        await settle_held_notifications(uow, services, directory, subject)
    data = step.model_dump(mode="json")
    # The patron's id is the borrowing library's business: the lender's systems get the request without it, and
    # see "patron" as the actor of what the patron did (as the broker's API shows them).
    bodies: dict[str, dict[str, Any]] = {step.borrower: data}
    if step.lender and step.lender != step.borrower:
        hidden = {"patron_id": None, **({"actor": "patron"} if step.patron_id and step.actor == step.patron_id else {})}
        bodies[step.lender] = {**data, **hidden}
    await queue_webhooks(uow, services, event_id=str(envelope.id), event_type=envelope.type,
                         occurred_at=step.occurred_at, bodies=bodies)


async def on_suggestion(uow: UnitOfWork, services: NotifyServices, envelope: EventEnvelope,
                        suggestion: AcquisitionSuggestedV1) -> None:
    directory = Directory(uow.session)
    parties = Parties(institution=suggestion.institution)
    for route in routes_for(envelope.type):
        await send_message(uow, services, directory, kind=route.message_kind,
                           recipients=await directory.resolve(route.audience, parties),
                           context_for=lambda _language: suggestion_context(suggestion),
                           key=str(envelope.id), event_type=envelope.type)
    await queue_webhooks(uow, services, event_id=str(envelope.id), event_type=envelope.type,
                         occurred_at=suggestion.suggested_at,
                         bodies={suggestion.institution: suggestion.model_dump(mode="json")})


async def on_import_finished(uow: UnitOfWork, services: NotifyServices, envelope: EventEnvelope,
                             finished: ImportFinishedV1) -> None:
    directory = Directory(uow.session)
    parties = Parties(institution=finished.institution)
    for route in routes_for(envelope.type):
        await send_message(uow, services, directory, kind=route.message_kind,
                           recipients=await directory.resolve(route.audience, parties),
                           context_for=lambda _language: import_context(finished),
                           key=str(envelope.id), event_type=envelope.type)
