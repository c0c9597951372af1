"""The platform's scopes and roles, and what each role may be granted."""

from __future__ import annotations

from collections.abc import Iterable

SCOPES = {
    "openid": "Sign in: an ID token and `/auth/userinfo`.",
    "catalog:read": "Search the union catalogue and read holdings.",
    "catalog:write": "Contribute records and holdings for the token's institution.",
    "ill:request": "Create and follow interlibrary-loan requests.",
    "ill:lend": "Answer lending requests as the supplying library.",
    "ill:manage": "Manage the institution's borrowing and lending, statistics included.",
    "notify:manage": "Manage webhooks and notification settings.",
    "accounts:manage": "Manage the institution's accounts and API clients, its audit trail and its sign-in settings.",
    "directory:admin": "Register and change institutions in the directory.",
}
ROLES = ("patron", "staff", "institution-admin", "platform-admin")

# What a person with a role may be granted; a token gets the union over the person's roles.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "patron": frozenset({"openid", "catalog:read", "ill:request"}),
    "staff": frozenset({"openid", "catalog:read", "catalog:write", "ill:request", "ill:lend", "ill:manage"}),
    "institution-admin": frozenset({"openid", "catalog:read", "catalog:write", "ill:request", "ill:lend",
                                    "ill:manage", "notify:manage", "accounts:manage"}),
    "platform-admin": frozenset(SCOPES),
}
PLATFORM_ADMIN_SCOPES = frozenset(SCOPES)


def scopes_for_roles(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)


def narrow(granted: frozenset[str], requested: str | None) -> frozenset[str] | None:
    """The requested scopes if all are granted (None if not); everything granted if nothing was asked."""
    if not requested:
        return granted
    wanted = frozenset(requested.split())
    return wanted if wanted <= granted else None
