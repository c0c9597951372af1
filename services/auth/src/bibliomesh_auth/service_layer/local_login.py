"""Checking a local account's password, with lockout after repeated failures. Failures say nothing specific."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.accounts import User, lock_after_failure
from bibliomesh_auth.service_layer import audit
from meshkit.unit_of_work import UnitOfWork

hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = hasher.hash("not-a-real-password-just-for-timing")


class LoginFailed(Exception):
    def __init__(self, reason: str, locked: bool = False) -> None:
        super().__init__(reason)
        self.locked = locked


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Always does the argon2 work, so response time does not reveal whether the account exists."""
    try:
        return hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False


REFUSED = "unknown account, wrong password, or the account is temporarily locked after repeated failures"
"""The one answer to every failed sign-in, so that it does not tell which accounts exist (the audit trail does)."""


async def authenticate(uow: UnitOfWork, institution: str, username: str, password: str,
                       ip: str | None = None) -> User:
    """The account if the password is right; LoginFailed otherwise. The caller commits either way.

    Every failure takes the same argon2 work and gives the same message, whether the account is unknown, disabled,
    locked or the password wrong: neither tells an attacker which usernames exist."""
    repo = UserRepository(uow.session)
    user = await repo.by_username(institution, username)
    now = datetime.now(UTC)
    actor = f"{institution}/{username}"
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
