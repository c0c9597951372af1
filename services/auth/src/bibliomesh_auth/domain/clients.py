"""What an API client may be given: scopes, grants and redirect URIs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bibliomesh_auth.domain.scopes import SCOPES, scopes_for_roles

PARTNER_SCOPES = scopes_for_roles({"staff", "institution-admin"})
"""The most a partner system may hold: what the institution's own staff and admins may hold, `accounts:manage`
included (an institution admin may give it, as they may give anything they hold). A partner client's own token
carries the `staff` role, so the scope lets it manage nothing by itself: it passes on only to the institution's
admins who sign in through the client (the password grant, which only a platform admin enables)."""
PLATFORM_ONLY_SCOPES = frozenset({"directory:admin"})
CONFIDENTIAL_GRANTS = frozenset({"client_credentials", "password", "refresh_token"})
PUBLIC_GRANTS = frozenset({"authorization_code", "refresh_token", "password"})
PLATFORM_ONLY_GRANTS = frozenset({"password"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def scope_problem(scopes: frozenset[str], *, platform_client: bool, by_platform_admin: bool) -> str | None:
    """Why a confidential client may not hold these scopes, or None.

    A client of the platform operator may hold any scope; a partner system at most `PARTNER_SCOPES`, plus
    `directory:admin` when a platform admin grants it.
    """
    unknown = scopes - frozenset(SCOPES)
    if unknown:
        return f"unknown scope(s): {', '.join(sorted(unknown))}"
    if platform_client:
        return None
    allowed = PARTNER_SCOPES | (PLATFORM_ONLY_SCOPES if by_platform_admin else frozenset())
    refused = scopes - allowed
    if refused:
        return f"not for this client: {', '.join(sorted(refused))} (beyond what the institution's staff may hold)"
    return None


def grant_problem(grants: frozenset[str], *, is_public: bool, by_platform_admin: bool) -> str | None:
    """Why a client may not use these grants, or None."""
    allowed = PUBLIC_GRANTS if is_public else CONFIDENTIAL_GRANTS
    if not grants:
        return "at least one grant type is needed"
    refused = grants - allowed
    if refused:
        kind = "public" if is_public else "confidential"
        return f"a {kind} client cannot use: {', '.join(sorted(refused))}"
    if grants & PLATFORM_ONLY_GRANTS and not by_platform_admin:
        return "only a platform admin may enable the password grant"
    if grants == {"refresh_token"}:
        return "refresh_token needs a grant that issues refresh tokens"
    return None


def redirect_uri_problem(uri: str, *, allow_plain_http: bool) -> str | None:
    """Redirect URIs are exact, absolute https URLs without a fragment (http only on loopback or in development)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute http(s) URL"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if "*" in uri:
        return "must be exact (no wildcards)"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS and not allow_plain_http:
        return "must use https (plain http only for loopback addresses)"
    return None


def tokens_not_before(disabled_at: datetime) -> datetime:
    """The first moment a token of a client disabled at `disabled_at` can have been issued after it: a token carries
    its issue time (`iat`) in whole seconds, so every one issued up to `disabled_at` has an `iat` before this."""
    return disabled_at.replace(microsecond=0) + timedelta(seconds=1)


async def wait_until_tokens_are_new(not_before: datetime | None) -> None:
    """Wait out the second a client or person was disabled in before enabling it again: a token issued within that
    second would carry the same `iat` as the ones refused. Called before any row is locked (at most a second)."""
    if not_before is not None:
        wait = (not_before - datetime.now(UTC)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)


def issued_in_time(issued_at: object, not_before: datetime | None) -> bool:
    """Whether a token issued at `issued_at` (its `iat`) is still good for a client that refuses what it was issued
    before `not_before` (None: it was never disabled). A token without an issue time is as old as any."""
    if not_before is None:
        return True
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        return False
    return issued_at >= not_before.timestamp()
