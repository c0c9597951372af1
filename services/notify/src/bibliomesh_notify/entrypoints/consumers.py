"""What notify listens to: the directory (libraries and people) and the broker's request steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.registry import DIRECTORY_INSTITUTION_EVENTS, ILL_REQUEST_EVENTS
from bibliomesh_notify.service_layer.events import on_import_finished, on_request_step, on_suggestion
from bibliomesh_notify.service_layer.held_notifications import on_institution_announced, on_person_changed
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.bus import Subscription
from meshkit.consumers import Consumer, EventHandler
from meshkit.unit_of_work import UnitOfWork

DIRECTORY = Subscription(queue="notify.directory", bindings=("directory.institution.#",))
PEOPLE = Subscription(queue="notify.people", bindings=("directory.person.changed",))
# the queue keeps its name: it carries what the broker and the catalogue tell admins and patrons
ILL = Subscription(queue="notify.ill",
                   bindings=("ill.request.#", "ill.acquisition.suggested", "catalog.import.finished"))
SUBSCRIPTIONS = (DIRECTORY, PEOPLE, ILL)


def _with(services: NotifyServices,
          handler: Callable[[UnitOfWork, NotifyServices, EventEnvelope, Any], Awaitable[None]]) -> EventHandler:
    async def handle(uow: UnitOfWork, envelope: EventEnvelope, payload: Any) -> None:
        await handler(uow, services, envelope, payload)

    return handle


def consumers(services: NotifyServices) -> tuple[Consumer, ...]:
    step = _with(services, on_request_step)
    institution = _with(services, on_institution_announced)
    # People (a user import announces thousands) and request steps come in bursts: applied a batch to a
    # transaction. Every handler here only writes to the database; senders and streams act after the commit.
    return (
        Consumer(DIRECTORY, dict.fromkeys(DIRECTORY_INSTITUTION_EVENTS, institution)),
        Consumer(PEOPLE, {"directory.person.changed": _with(services, on_person_changed)}, batched=True),
        Consumer(ILL, {**dict.fromkeys(ILL_REQUEST_EVENTS, step),
                       "ill.acquisition.suggested": _with(services, on_suggestion),
                       "catalog.import.finished": _with(services, on_import_finished)}, batched=True),
    )
