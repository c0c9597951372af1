"""Announcing people: every change to an account's profile, roles or status is published with the change, so
other services (notify) keep the contact details they need without calling back."""

from __future__ import annotations

from bibliomesh_auth.domain.accounts import User
from bibliomesh_contracts.events.directory import PersonChangedV1
from meshkit.unit_of_work import UnitOfWork


def announce(uow: UnitOfWork, user: User) -> User:
    language = user.language if user.language in ("en", "zh") else "en"
    uow.publish(PersonChangedV1(subject=user.subject, institution=user.institution, display_name=user.display_name,
                                email=user.email, language=language, roles=sorted(user.roles),
                                status="disabled" if user.status == "disabled" else "active", version=user.version),
                aggregate_id=user.subject, aggregate_version=user.version, institution=user.institution)
    return user
