"""In-app notifications held for a patron notify did not know when the request's event came: the borrowing
library's staff or an ISO 18626 peer may have named anybody's subject. They are shown only once the person is
announced as of the borrowing library's university, and stay hidden if the person is of another university, so
nobody learns about a stranger's request by signing in."""

from __future__ import annotations

import logging

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.events.directory import PersonChangedV1
from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.service_layer.fan_out import wake_after_commit
from bibliomesh_notify.service_layer.recipients import Directory
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def on_person_changed(uow: UnitOfWork, services: NotifyServices, _envelope: EventEnvelope,
                            person: PersonChangedV1) -> None:
    directory = Directory(uow.session)
    await directory.people.apply(person)
    await settle_held_notifications(uow, services, directory, person.subject)


async def settle_held_notifications(uow: UnitOfWork, services: NotifyServices, directory: Directory,
                                    subject: str) -> None:
    """Show `subject`'s held notifications whose borrowing library is of the person's university (once the
    person is active); those of any other university stay held."""
    person = await directory.people.get(subject)  # the newest copy: the event applied may have been a stale one
    repository = NotificationRepository(uow.session)
    held = await repository.held(subject) if person else []
    if person is None or not held:
        return
    shown, kept = [], []
    for row in held:
        if not await directory.same_university(person["institution"], row["borrower"]):
            kept.append(row)
        elif person["status"] == "active":
            shown.append(row["id"])
    await repository.release(subject, shown)
    if kept:
        # Kept held, never shown, rather than deleted: a library announced before migration 0004 has no
        # `parent_code` yet, so a branch's patron can look like a stranger until the directory announces it again.
        log.warning("held patron notifications kept hidden: the person is not of the borrowing library's university",
                    extra={"patron_institution": person["institution"], "held": len(kept),
                           "borrowers": sorted({r["borrower"] for r in kept})})
    if shown:
        wake_after_commit(uow, services)
