"""Checking a local account's password, with lockout after repeated failures. Failures say nothing specific."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bibliomesh_auth.adapters.audit_repository import AuditRepository
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.accounts import User, lock_after_failure
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.settings import AuthSettings
from meshkit.unit_of_work import UnitOfWork

hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = hasher.hash("not-a-real-password-just-for-timing")


class LoginFailed(Exception):
    def __init__(self, reason: str, locked: bool = False, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.locked = locked
        self.retry_after = retry_after
        """Seconds until the caller's address may try again, when it was refused for too many failures."""


@dataclass(frozen=True)
class AddressLimit:
    """At most `failures` failed sign-ins from one address within `window`."""

    failures: int
    window: timedelta

    @classmethod
    def of(cls, settings: AuthSettings) -> AddressLimit:
        return cls(settings.login_failures_per_address, timedelta(seconds=settings.login_failure_window_seconds))


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Always does the argon2 work, so response time does not reveal whether the account exists."""
    try:
        return hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False


REFUSED = "unknown account, wrong password, or the account is temporarily locked after repeated failures"
"""The one answer to every failed sign-in, so that it does not tell which accounts exist (the audit trail does)."""
THROTTLED = "too many failed sign-ins from this address"


async def _refuse_busy_address(uow: UnitOfWork, ip: str, limit: AddressLimit, now: datetime, actor: str,
                               institution: str) -> None:
    """LoginFailed, without a password checked, if `ip` failed `limit.failures` times within the window: password
    spraying (one guess for each of many accounts) never trips the per-account lockout."""
    failures = await AuditRepository(uow.session).failed_logins_from(ip, now - limit.window, limit.failures)
    if len(failures) < limit.failures:
        return
    retry_after = max(1, math.ceil((failures[-1] + limit.window - now).total_seconds()))
    await audit.record(uow, "login", outcome="throttled", actor=actor, institution=institution, ip=ip,
                       retry_after=retry_after)
    raise LoginFailed(THROTTLED, retry_after=retry_after)


async def authenticate(uow: UnitOfWork, institution: str, username: str, password: str,
                       ip: str | None = None, limit: AddressLimit | None = None) -> User:
    """The account if the password is right; LoginFailed otherwise. The caller commits either way.

    Every failure takes the same argon2 work and gives the same message, whether the account is unknown, disabled,
    locked or the password wrong: neither tells an attacker which usernames exist. With a `limit`, an address that
    failed too often is refused first, whatever the account (`retry_after` set)."""
    now = datetime.now(UTC)
    actor = f"{institution}/{username}"
    if ip is not None and limit is not None:
        await _refuse_busy_address(uow, ip, limit, now, actor, institution)
    repo = UserRepository(uow.session)
    user = await repo.by_username(institution, username)
    if user is not None and user.is_locked(now):
        verify_secret(None, password)
        await audit.record(uow, "login", outcome="locked", actor=actor, institution=institution, ip=ip)
        raise LoginFailed(REFUSED, locked=True)
    usable = user is not None and user.active
    right = verify_secret(user.password_hash if user is not None and usable else None, password)
    if user is None or not right:
        reason = "unknown account" if user is None else "wrong password" if usable else "account disabled"
        if user is not None:
            failures = user.failures_counted(now) + 1
            await repo.record_login_result(user, failed_logins=failures, locked_until=lock_after_failure(failures, now))
        await audit.record(uow, "login", outcome="failure", actor=actor, institution=institution, ip=ip,
                           reason=reason)
        raise LoginFailed(REFUSED)
    if user.failed_logins or user.locked_until:
        await repo.record_login_result(user, failed_logins=0, locked_until=None)
    if hasher.check_needs_rehash(user.password_hash or ""):
        await repo.update(user, password_hash=hasher.hash(password))
    await audit.record(uow, "login", actor=user.subject, institution=institution, ip=ip, method="password")
    return user
