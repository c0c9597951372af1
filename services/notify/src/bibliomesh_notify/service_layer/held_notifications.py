"""In-app notifications held for a patron notify could not place when the request's event came: the borrowing
library's staff or an ISO 18626 peer may have named anybody's subject, and a library copied before `parent_code`
existed may be a branch. They are shown only once the person is announced as of the borrowing library's
university, and stay hidden if the person is of another university, so nobody learns about a stranger's request
by signing in. They are settled whenever the person or either library is announced.

The request-step and directory consumers run concurrently (several replicas, READ COMMITTED): a step may find no
person, and store its held notification after a person.changed has looked for held ones. Both sides take the
recipient's counter row lock (`NotificationRepository.lock`) before looking at the other's data, so whichever
comes second sees what the first committed: the announcement finds the held row, or the step finds the person.
A library's announcement and a hold for want of its university meet on its `library_contacts` row in the same way
(`Directory.affiliation`). On SQLite every consumer's transaction writes its inbox row first, so they run one
after another anyway."""

from __future__ import annotations

import logging

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.events.directory import (
    InstitutionCreatedV1,
    InstitutionSuspendedV1,
    InstitutionUpdatedV1,
    PersonChangedV1,
)
from bibliomesh_notify.adapters.contact_repository import ContactRepository
from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.domain.affiliation import Affiliation
from bibliomesh_notify.service_layer.fan_out import wake_after_commit
from bibliomesh_notify.service_layer.recipients import Directory
from bibliomesh_notify.service_layer.services import NotifyServices
from bibliomesh_notify.service_layer.streams import end_streams_after_commit
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
InstitutionAnnounced = InstitutionCreatedV1 | InstitutionUpdatedV1 | InstitutionSuspendedV1


async def on_person_changed(uow: UnitOfWork, services: NotifyServices, _envelope: EventEnvelope,
                            person: PersonChangedV1) -> None:
    directory = Directory(uow.session)
    if await directory.people.apply(person) and person.status == "disabled":
        end_streams_after_commit(uow, services.streams, person.subject, "account_disabled")
    await settle_held_notifications(uow, services, directory, person.subject)


async def on_institution_announced(uow: UnitOfWork, services: NotifyServices, _envelope: EventEnvelope,
                                   announced: InstitutionAnnounced) -> None:
    """Store the library's newer copy and settle the held notifications its university may decide: those it
    borrowed for, and those of its own patrons."""
    institution = announced.institution
    if not await ContactRepository(uow.session).apply(institution):
        return
    directory = Directory(uow.session)
    for subject in await NotificationRepository(uow.session).held_recipients_concerning(institution.code):
        await settle_held_notifications(uow, services, directory, subject)  # in name order: one lock order


async def settle_held_notifications(uow: UnitOfWork, services: NotifyServices, directory: Directory,
                                    subject: str) -> None:
    """Show `subject`'s held notifications whose borrowing library is of the person's university (once the
    person is active); the others stay held."""
    repository = NotificationRepository(uow.session)
    await repository.lock(subject)  # before reading the person and the held rows: see the module's docstring
    person = await directory.people.get(subject)  # the newest copy: the event applied may have been a stale one
    held = await repository.held(subject) if person else []
    if person is None or not held:
        return
    shown: list[int] = []
    kept: dict[Affiliation, list[str]] = {Affiliation.OTHER: [], Affiliation.UNKNOWN: []}
    for row in held:
        found = await directory.affiliation(person["institution"], row["borrower"])
        if found is not Affiliation.SAME:
            kept[found].append(row["borrower"])
        elif person["status"] == "active":
            shown.append(row["id"])
    released = await repository.release(subject, shown)
    if kept[Affiliation.UNKNOWN]:
        log.info("held patron notifications wait for the directory to announce the university of the borrowing or "
                 "the patron's library", extra={"patron_institution": person["institution"],
                                               "held": len(kept[Affiliation.UNKNOWN]),
                                               "borrowers": sorted(set(kept[Affiliation.UNKNOWN]))})
    if kept[Affiliation.OTHER]:
        # Kept held, never shown, rather than deleted: the directory may still be behind (a library made a branch).
        log.warning("held patron notifications kept hidden: the person is not of the borrowing library's university",
                    extra={"patron_institution": person["institution"], "held": len(kept[Affiliation.OTHER]),
                           "borrowers": sorted(set(kept[Affiliation.OTHER]))})
    if released:
        wake_after_commit(uow, services)
