"""The platform's scopes and roles, and what each role may be granted."""

from __future__ import annotations

SCOPES = {
    "catalog:read": "Search the union catalogue and read holdings.",
    "catalog:write": "Contribute records and holdings for the token's institution.",
    "ill:request": "Create and follow interlibrary-loan requests.",
    "ill:lend": "Answer lending requests as the supplying library.",
    "ill:manage": "Manage the institution's borrowing and lending, statistics included.",
    "notify:manage": "Manage webhooks and notification settings.",
    "directory:admin": "Register and change institutions in the directory.",
}
ROLES = ("patron", "staff", "institution-admin", "platform-admin")
PLATFORM_ADMIN_SCOPES = frozenset(SCOPES)
