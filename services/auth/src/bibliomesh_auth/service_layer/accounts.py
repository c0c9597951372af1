"""Use cases of local accounts. Each takes the caller explicitly; the request commits once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from bibliomesh_auth.adapters.user_repository import ConcurrentUpdate, UserRepository
from bibliomesh_auth.domain.accounts import (
    PLATFORM_ADMIN,
    User,
    lock_after_failure,
    password_problem,
    pickup_problem,
    roles_problem,
)
from bibliomesh_auth.domain.clients import tokens_not_before, wait_until_tokens_are_new
from bibliomesh_auth.domain.permissions import managed_institution, require_manager_of, require_person
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.local_login import hasher, verify_secret
from bibliomesh_auth.service_layer.people import announce
from meshkit.problems import Conflict, Forbidden, NotFound, Problem
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

PROFILE_FIELDS = ("email", "display_name", "roles", "pickup_location", "language")


class InvalidAccount(Problem):
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])
        self.field = field
        self.message = message


async def check_account(uow: UnitOfWork, caller: Principal, institution: str, fields: dict[str, Any],
                        username: str) -> None:
    """The rules every new or changed account obeys, whichever way it arrives (form, API, import)."""
    if "roles" in fields:
        if fields["roles"] is None:
            raise InvalidAccount("roles", "at least one role is needed")
        problem = roles_problem(frozenset(fields["roles"]), by_platform_admin=caller.is_platform_admin)
        if problem:
            raise InvalidAccount("roles", problem)
    if "language" in fields and fields["language"] is None:
        raise InvalidAccount("language", "must be en or zh")
    if fields.get("pickup_location") is not None:
        # Shared lock: the institution cannot drop this location until the account is saved with it.
        place = await InstitutionRepository(uow.session).get(institution, share=True)
        problem = pickup_problem(fields["pickup_location"], place.pickup_locations if place else [])
        if problem:
            raise InvalidAccount("pickup_location", problem)
    if fields.get("password") is not None:
        problem = password_problem(fields["password"], username)
        if problem:
            raise InvalidAccount("password", problem)


async def create_user(uow: UnitOfWork, caller: Principal, fields: dict[str, Any], ip: str | None = None) -> User:
    """A local account in the caller's institution (or any, for a platform admin)."""
    institution = managed_institution(caller, fields.get("institution") or caller.institution)
    assert institution is not None
    if await InstitutionRepository(uow.session).get(institution) is None:
        raise InvalidAccount("institution", f"no institution {institution}")
    await check_account(uow, caller, institution, fields, fields["username"])
    repo = UserRepository(uow.session)
    if await repo.by_username(institution, fields["username"]) is not None:
        raise Conflict(f"{institution} already has an account {fields['username']!r}",
                       errors=[{"field": "username", "message": "already taken"}])
    values = {k: fields[k] for k in PROFILE_FIELDS if k in fields}
    password = fields.get("password")
    try:
        user = await repo.add(institution=institution, username=fields["username"],
                              password_hash=hasher.hash(password) if password else None, **values)
    except IntegrityError:
        raise Conflict(f"{institution} already has an account {fields['username']!r}") from None
    await audit.record(uow, "user-created", actor=caller.subject, institution=institution, target=user.subject,
                       ip=ip, username=user.username, roles=sorted(user.roles))
    return announce(uow, user)


async def list_users(uow: UnitOfWork, caller: Principal, institution: str | None, *, role: str | None = None,
                     query: str | None = None, status: str | None = None, limit: int = 50,
                     offset: int = 0) -> tuple[list[User], int | None]:
    """One page of accounts the caller manages, and the offset of the next page (None on the last)."""
    scope = managed_institution(caller, institution)
    found = await UserRepository(uow.session).list(scope, role=role, query=query, status=status,
                                                   limit=limit + 1, offset=offset)
    return found[:limit], (offset + limit if len(found) > limit else None)


async def get_user(uow: UnitOfWork, caller: Principal, user_id: str) -> User:
    """An account the caller manages (403 for another institution's)."""
    managed_institution(caller, None)  # refuse non-admins before saying whether the account exists
    user = await UserRepository(uow.session).get(user_id)
    if user is None:
        raise NotFound(f"no account {user_id}")
    require_manager_of(caller, user.institution)
    if PLATFORM_ADMIN in user.roles and not caller.is_platform_admin:
        raise Forbidden("only a platform admin may manage a platform admin's account")
    return user


async def update_user(uow: UnitOfWork, caller: Principal, user_id: str, changes: dict[str, Any],
                      ip: str | None = None) -> User:
    """Change profile, roles or password; fails with 409 if the account changed since `version` was read."""
    user = await get_user(uow, caller, user_id)
    expected = changes.pop("version")
    if expected != user.version:
        raise Conflict(f"account {user_id} is at version {user.version}, not {expected}; reload and retry",
                       current_version=user.version)
    if changes.get("password") is not None and user.external_issuer is not None:
        raise InvalidAccount("password", "this account signs in through its institution; it has no local password")
    await check_account(uow, caller, user.institution, changes, user.username)
    values = {k: changes[k] for k in PROFILE_FIELDS if k in changes}
    if changes.get("password") is not None:
        values.update(password_hash=hasher.hash(changes["password"]), failed_logins=0, locked_until=None)
    if not values:
        return user
    updated = await _update(uow, user, **values)
    if "password_hash" in values or values.get("roles") is not None:
        await GrantRepository(uow.session).revoke_user_tokens(user.id)  # sessions end when rights change
    await audit.record(uow, "user-updated", actor=caller.subject, institution=user.institution, target=user.subject,
                       ip=ip, fields=sorted(k for k in changes if k in PROFILE_FIELDS or k == "password"))
    return updated


async def set_user_status(uow: UnitOfWork, caller: Principal, user_id: str, status: str,
                          ip: str | None = None) -> User:
    """Disable (ending every session: refresh tokens and codes not redeemed yet are revoked, and access tokens issued
    so far are refused for good, also once the account is enabled again) or enable an account."""
    user = await get_user(uow, caller, user_id)
    if caller.subject == user.subject and status == "disabled":
        raise Conflict("you cannot disable your own account")
    if user.status == status:
        return user
    if status == "disabled":
        updated = await _update(uow, user, status=status, tokens_not_before=tokens_not_before(datetime.now(UTC)))
        grants = GrantRepository(uow.session)
        await grants.revoke_user_tokens(user.id)
        await grants.expire_user_codes(user.id)
    else:
        await wait_until_tokens_are_new(user.tokens_not_before)
        updated = await _update(uow, user, status=status)
    await audit.record(uow, f"user-{'disabled' if status == 'disabled' else 'enabled'}", actor=caller.subject,
                       institution=user.institution, target=user.subject, ip=ip)
    return updated


async def change_own_password(uow: UnitOfWork, caller: Principal, old: str, new: str, ip: str | None = None) -> None:
    """A signed-in person changes their password; a wrong old password counts towards the lockout."""
    user = await _own_account(uow, caller)
    repo = UserRepository(uow.session)
    now = datetime.now(UTC)
    if user.is_locked(now) or not verify_secret(user.password_hash, old):
        failures = user.failures_counted(now) + (0 if user.is_locked(now) else 1)
        await repo.record_login_result(user, failed_logins=failures, locked_until=lock_after_failure(failures, now)
                                       or user.locked_until)
        await audit.record(uow, "password-changed", outcome="failure", actor=user.subject,
                           institution=user.institution, ip=ip)
        await uow.commit()  # the failure must count even though the request fails
        raise InvalidAccount("old_password", "wrong password, or the account is temporarily locked")
    problem = password_problem(new, user.username)
    if problem:
        raise InvalidAccount("new_password", problem)
    if old == new:
        raise InvalidAccount("new_password", "must differ from the old password")
    await _update(uow, user, password_hash=hasher.hash(new), failed_logins=0, locked_until=None)
    await GrantRepository(uow.session).revoke_user_tokens(user.id)
    await audit.record(uow, "password-changed", actor=user.subject, institution=user.institution, ip=ip)


async def _own_account(uow: UnitOfWork, caller: Principal) -> User:
    require_person(caller, "change a password")
    user = await UserRepository(uow.session).get(caller.subject.removeprefix("user:"))
    if user is None or not user.active:
        raise Forbidden("the account is not active")
    if user.password_hash is None:
        raise Conflict("this account signs in through its institution and has no local password")
    return user


async def _update(uow: UnitOfWork, user: User, **values: Any) -> User:
    try:
        return announce(uow, await UserRepository(uow.session).update(user, **values))
    except ConcurrentUpdate:
        raise Conflict(f"account {user.id} was changed by someone else; reload and retry") from None
