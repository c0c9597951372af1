"""People with local or federated accounts, and the rules that protect local passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10


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

    @property
    def subject(self) -> str:
        return f"user:{self.id}"

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def active(self) -> bool:
        return self.status == "active"


def lock_after_failure(failed_logins: int, now: datetime) -> datetime | None:
    """Lock the account for a while once it has failed too often in a row."""
    return now + LOCKOUT if failed_logins >= MAX_FAILED_LOGINS else None


def password_problem(password: str, username: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if username.lower() in password.lower():
        return "must not contain the username"
    return None
