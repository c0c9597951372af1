"""Who an audience is, from notify's copies of the directory: people (subject, e-mail, language, roles) and
libraries (ILL mailbox, language, university). Library staff are reached through the library's ILL mailbox by
e-mail and each staff member in the app; a patron and institution admins personally on both channels.

The broker takes a request's patron id from the borrowing library's staff or an ISO 18626 peer and knows no people:
only here can a patron named from another institution be refused, or that person would hear about (and be mailed
about) a stranger's request for its whole life."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.contact_repository import ContactRepository
from bibliomesh_notify.adapters.people_repository import ADMIN_ROLES, STAFF_ROLES, PeopleRepository
from bibliomesh_notify.domain.affiliation import Affiliation, Library, affiliation
from bibliomesh_notify.domain.messages import Audience

MAILBOX = "mailbox:"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    owner: str
    """Whose preferences apply and who reads the in-app message: a subject, or `mailbox:<code>`."""
    institution: str
    language: str
    name: str | None
    email: str | None
    in_app: bool
    unconfirmed_patron_of: str | None = None
    """For a patron notify does not know yet, or whose library's university it does not know yet: the borrowing
    library, whose university they must prove to be of (once announced) before the in-app message is shown."""


@dataclass(frozen=True)
class Parties:
    """The institutions and patron an event concerns."""

    borrower: str | None = None
    lender: str | None = None
    patron: str | None = None
    institution: str | None = None
    request_id: str | None = None


class Directory:
    def __init__(self, session: AsyncSession) -> None:
        self.people = PeopleRepository(session)
        self.contacts = ContactRepository(session)
        self._contacts: dict[str, dict[str, Any] | None] = {}
        self._locked: set[str] = set()

    async def contact(self, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        if code not in self._contacts:
            self._contacts[code] = await self.contacts.get(code)
        return self._contacts[code]

    async def resolve(self, audience: Audience, parties: Parties) -> list[Recipient]:
        if audience is Audience.PATRON:
            return await self._patron(parties.patron, parties.borrower, parties.request_id)
        if audience is Audience.INSTITUTION_ADMINS:
            return await self._people(parties.institution, ADMIN_ROLES, email=True)
        code = parties.borrower if audience is Audience.BORROWER_STAFF else parties.lender
        return await self._mailbox(code) + await self._people(code, STAFF_ROLES, email=False)

    async def _patron(self, subject: str | None, borrower: str | None, request_id: str | None) -> list[Recipient]:
        if not subject:
            return []
        person = await self.people.get(subject)
        if person is None:  # not announced yet: kept for them, in their library's language, shown once confirmed
            library = await self.contact(borrower)
            return [Recipient(owner=subject, institution=borrower or "", name=None, email=None, in_app=True,
                              language=library["language"] if library else "en",
                              unconfirmed_patron_of=borrower or "")]
        if person["status"] != "active":
            return []
        found = await self.affiliation(person["institution"], borrower)
        if found is Affiliation.UNKNOWN:
            # A library copied before `parent_code` existed may be a branch: held in-app only (no e-mail to someone
            # who may be a stranger), settled when the directory announces the library (held_notifications).
            log.info("patron notification held: the university of the borrowing or the patron's library is not "
                     "known yet", extra={"ill_request_id": request_id, "borrower": borrower,
                                         "patron_institution": person["institution"]})
            return [replace(_person(person, email=False), unconfirmed_patron_of=borrower)]
        if found is Affiliation.OTHER:
            log.warning("patron not notified: not of the borrowing library or its university",
                        extra={"ill_request_id": request_id, "borrower": borrower,
                               "patron_institution": person["institution"]})
            return []
        return [_person(person, email=True)]

    async def affiliation(self, code: str, other: str | None) -> Affiliation:
        """Whether libraries `code` and `other` are of one university, as far as notify's copies tell.

        UNKNOWN comes from their newest copies, share-locked until the transaction ends: an announcement of either
        library committed meanwhile is seen, and one not yet committed waits for this transaction and then finds
        what it held (`held_notifications.on_institution_announced`)."""
        if not other:
            return Affiliation.OTHER
        found = affiliation(await self._library(code), await self._library(other))
        if found is not Affiliation.UNKNOWN:
            return found
        for name in sorted({code, other} - self._locked):  # one lock order
            self._contacts[name] = await self.contacts.get(name, share_lock=True)
            self._locked.add(name)
        return affiliation(await self._library(code), await self._library(other))

    async def _library(self, code: str) -> Library:
        found = await self.contact(code)
        if found is None:
            return Library(code, None, parent_known=False)
        return Library(code, found["parent_code"], parent_known=found["parent_known"])

    async def _people(self, code: str | None, roles: frozenset[str], *, email: bool) -> list[Recipient]:
        if not code:
            return []
        return [_person(p, email=email) for p in await self.people.active_with_roles(code, roles)]

    async def _mailbox(self, code: str | None) -> list[Recipient]:
        library = await self.contact(code)
        if library is None or not library["ill_email"]:
            return []
        return [Recipient(owner=f"{MAILBOX}{library['code']}", institution=library["code"], name=None,
                          email=library["ill_email"], in_app=False, language=library["language"])]


def _person(person: dict[str, Any], *, email: bool) -> Recipient:
    return Recipient(owner=person["subject"], institution=person["institution"], language=person["language"],
                     name=person["display_name"], email=person["email"] if email else None, in_app=True)
