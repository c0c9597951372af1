"""The Bibliomesh account of a federated person: found by (issuer, subject), created on first sign-in, and kept in
step with the institution's directory (roles, e-mail, name) on every sign-in. The institution is the source of truth
for a federated account's roles."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError

from bibliomesh_auth.adapters.user_repository import ConcurrentUpdate, UserRepository
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.federation.mapping import FederatedIdentity
from bibliomesh_auth.service_layer.people import announce
from bibliomesh_auth.service_layer.signin import SigninRefused
from meshkit.unit_of_work import UnitOfWork


async def federated_account(uow: UnitOfWork, institution: str, issuer: str, identity: FederatedIdentity,
                            language: str) -> User:
    """The person's account at `institution`, created or refreshed. Never links to a local account by name."""
    repo = UserRepository(uow.session)
    for _attempt in range(3):
        user = await repo.by_external_identity(issuer, identity.subject, lock=True)
        if user is None:
            try:
                # The lock above makes a second first sign-in wait for this one; should an account still appear
                # meanwhile (made another way), the insert fails alone and the loop reads it.
                async with uow.session.begin_nested():
                    created = await repo.add(
                        institution=institution, username=await _free_username(repo, institution, issuer, identity),
                        email=identity.email, display_name=identity.display_name, roles=sorted(identity.roles),
                        language=language, external_issuer=issuer, external_subject=identity.subject)
                return announce(uow, created)
            except IntegrityError:
                continue
        if user.institution != institution:
            # One provider shared by two institutions (a university and its branches) signs a person in at one.
            raise SigninRefused("account_elsewhere", f"{issuer} {identity.subject} belongs to {user.institution}",
                                status=403)
        if not user.active:
            raise SigninRefused("account_disabled", f"account {user.id} is not active", status=403)
        changes = _changes(user, identity)
        if not changes:
            return user
        try:
            return announce(uow, await repo.update(user, **changes))
        except ConcurrentUpdate:
            continue  # edited meanwhile (an admin, another sign-in): read it again and reapply
    raise SigninRefused("provider_unavailable", f"account for {identity.subject} kept changing", status=503)


def _changes(user: User, identity: FederatedIdentity) -> dict[str, object]:
    wanted: dict[str, object] = {"roles": identity.roles, "email": identity.email,
                                 "display_name": identity.display_name}
    current: dict[str, object] = {"roles": user.roles, "email": user.email, "display_name": user.display_name}
    return {name: value for name, value in wanted.items() if current[name] != value}


async def _free_username(repo: UserRepository, institution: str, issuer: str, identity: FederatedIdentity) -> str:
    """The provider's username if nobody at the institution has it yet; otherwise made unique with a short digest
    of the identity (a local `alice` and a federated `alice` are different people until an admin says otherwise)."""
    if await repo.by_username(institution, identity.username) is None:
        return identity.username
    digest = hashlib.sha256(f"{issuer} {identity.subject}".encode()).hexdigest()
    return f"{identity.username[:180]}~{digest[:10]}"
