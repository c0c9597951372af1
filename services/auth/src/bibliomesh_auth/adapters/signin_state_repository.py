"""Pending browser sign-ins: random, expiring, used once. The state id is also the login form's CSRF token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import signin_states


@dataclass(frozen=True)
class PendingSignin:
    state: str
    institution: str
    request: dict[str, Any]
    upstream_nonce: str | None
    upstream_verifier: str | None
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now


class SigninStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, institution: str, request: dict[str, Any], ttl: timedelta,
                  upstream_nonce: str | None = None, upstream_verifier: str | None = None) -> str:
        """A new pending sign-in; returns its state id (256 random bits)."""
        state = secrets.token_urlsafe(32)
        await self.session.execute(sa.insert(signin_states).values(
            state=state, institution=institution, request=request, upstream_nonce=upstream_nonce,
            upstream_verifier=upstream_verifier, expires_at=datetime.now(UTC) + ttl))
        return state

    async def get(self, state: str) -> PendingSignin | None:
        row = (await self.session.execute(sa.select(signin_states).where(signin_states.c.state == state))).first()
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        return PendingSignin(state=row.state, institution=row.institution, request=dict(row.request),
                             upstream_nonce=row.upstream_nonce, upstream_verifier=row.upstream_verifier,
                             expires_at=expires)

    async def claim(self, state: str) -> bool:
        """Atomically use up a pending sign-in; False if it was already used (a replay) or never existed."""
        result = await self.session.execute(sa.delete(signin_states).where(signin_states.c.state == state))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def purge_expired(self) -> int:
        result = await self.session.execute(
            sa.delete(signin_states).where(signin_states.c.expires_at < datetime.now(UTC)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
