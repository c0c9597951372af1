"""People with local or federated accounts, and the rules that protect local passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bibliomesh_auth.domain.clients import issued_in_time
from bibliomesh_auth.domain.text import has_control_character

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
ASSIGNABLE_ROLES = frozenset({"patron", "staff", "institution-admin"})
"""Roles an institution admin may give; `platform-admin` only a platform admin may give."""
PLATFORM_ADMIN = "platform-admin"


@dataclass(frozen=True)
class User:
    id: str
    institution: str
    username: str
    email: str | None
    display_name: str | None
    roles: frozenset[str]
    pickup_location: str | None
    language: str
    status: str
    password_hash: str | None
    failed_logins: int
    locked_until: datetime | None
    external_issuer: str | None
    external_subject: str | None
    version: int
    tokens_not_before: datetime | None = None
    """Their access tokens issued before this are refused, also once they are enabled again (set on disable)."""

    @property
    def subject(self) -> str:
        return f"user:{self.id}"

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def failures_counted(self, now: datetime) -> int:
        """Failed sign-ins in a row that still count: once a lock has expired, counting starts over (else a single
        wrong password would lock the account again, and anyone could keep it locked)."""
        if self.locked_until is not None and self.locked_until <= now:
            return 0
        return self.failed_logins

    @property
    def active(self) -> bool:
        return self.status == "active"

    def accepts_token_issued_at(self, issued_at: object) -> bool:
        """Active, and the token (`iat`) was issued since the account was last disabled."""
        return self.active and issued_in_time(issued_at, self.tokens_not_before)


def lock_after_failure(failed_logins: int, now: datetime) -> datetime | None:
    """Lock the account for a while once it has failed too often in a row."""
    return now + LOCKOUT if failed_logins >= MAX_FAILED_LOGINS else None


def password_problem(password: str, username: str) -> str | None:
    """Why a new local password is not acceptable, or None if it is."""
    if has_control_character(password):
        return "must not contain control characters (such as NUL, a tab or a line break)"
    if not password.strip():
        return "must not be only spaces"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if username.lower() in password.lower():
        return "must not contain the username"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    return None


def roles_problem(roles: frozenset[str], *, by_platform_admin: bool) -> str | None:
    """Why these roles may not be given by this caller, or None if they may."""
    if not roles:
        return "at least one role is needed"
    unknown = roles - ASSIGNABLE_ROLES - {PLATFORM_ADMIN}
    if unknown:
        return f"unknown role(s): {', '.join(sorted(unknown))}"
    if PLATFORM_ADMIN in roles and not by_platform_admin:
        return "only a platform admin may give the platform-admin role"
    return None


def pickup_problem(pickup_location: str | None, allowed: list[str]) -> str | None:
    """A pickup location, if given, must be one the institution offers."""
    if pickup_location is None or pickup_location in allowed:
        return None
    offered = ", ".join(allowed) if allowed else "none"
    return f"not a pickup location of the institution (offered: {offered})"
