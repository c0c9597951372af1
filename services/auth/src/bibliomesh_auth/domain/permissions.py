"""Who may manage whose accounts and API clients: one rule that yields both the check on a record and the filter
on a list, so the two cannot drift apart.

The rule asks for a role *and* a scope: a role says what a person may do, the token's scopes what they let this
token do, so an admin signed in to an app that asked only for `catalog:read` hands it nothing that manages accounts."""

from __future__ import annotations

from meshkit.problems import Forbidden
from meshkit.security import Principal

INSTITUTION_ADMIN = "institution-admin"
DIRECTORY_ADMIN = "directory:admin"
ACCOUNTS_MANAGE = "accounts:manage"


def is_directory_admin(caller: Principal) -> bool:
    """A platform admin whose token carries `directory:admin`: the directory, signing keys and peer credentials."""
    return caller.is_platform_admin and caller.has_scope(DIRECTORY_ADMIN)


def require_directory_admin(caller: Principal, action: str) -> None:
    if not is_directory_admin(caller):
        raise Forbidden(f"only a platform admin with `directory:admin` may {action}")


def administers(caller: Principal, institution: str) -> bool:
    """Who edits an institution's entry and its identity provider: platform admins (with `directory:admin`) for
    every institution, institution admins (with `accounts:manage`) for their own."""
    return is_directory_admin(caller) or (_admin_of(caller, institution) and caller.has_scope(ACCOUNTS_MANAGE))


def require_administrator_of(caller: Principal, institution: str, action: str) -> None:
    if is_directory_admin(caller):
        return
    if not _admin_of(caller, institution):
        raise Forbidden(f"only a platform admin or an admin of {institution} may {action}")
    caller.require_scope(ACCOUNTS_MANAGE)


def _admin_of(caller: Principal, institution: str) -> bool:
    return caller.institution == institution and INSTITUTION_ADMIN in caller.roles


def require_person(caller: Principal, action: str) -> None:
    """Refuse an API client's token where only a person's will do."""
    if not caller.subject.startswith("user:"):
        raise Forbidden(f"only a person's token can {action}")


def managed_institution(caller: Principal, institution: str | None) -> str | None:
    """The institution the caller may manage, given the one asked for (None: every institution).

    A platform admin manages any institution (None means all of them); an institution admin manages only their
    own, which is also what they get when they ask for none. Anyone else is refused, and so is a token without
    `accounts:manage` (the role is checked first, so that someone who may never do this is told so).
    """
    if not caller.is_platform_admin and INSTITUTION_ADMIN not in caller.roles:
        raise Forbidden("only an institution admin (for their own institution) or a platform admin may do this")
    caller.require_scope(ACCOUNTS_MANAGE)
    if caller.is_platform_admin:
        return institution
    if institution is not None:
        caller.require_institution(institution)
    return caller.institution


def require_manager_of(caller: Principal, institution: str) -> None:
    """Refuse unless the caller manages `institution` (the check on one record)."""
    managed_institution(caller, institution)
