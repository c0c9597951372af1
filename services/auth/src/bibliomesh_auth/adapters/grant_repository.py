"""Refresh tokens and authorization codes, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import authorization_codes, refresh_tokens, revoked_access_tokens


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@dataclass(frozen=True)
class StoredRefreshToken:
    family_id: str
    client_id: str
    user_id: str | None
    institution: str
    scopes: frozenset[str]
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    auth_time: datetime | None = None
    """When the person signed in; None for a session begun before it was recorded."""


@dataclass(frozen=True)
class StoredCode:
    client_id: str
    user_id: str
    redirect_uri: str
    code_challenge: str
    scopes: frozenset[str]
    nonce: str | None
    expires_at: datetime
    used_at: datetime | None
    family_id: str | None = None
    access_token_id: str | None = None
    access_token_expires_at: datetime | None = None
    auth_time: datetime | None = None


def _stored_code(row: Any) -> StoredCode:
    return StoredCode(client_id=row.client_id, user_id=row.user_id, redirect_uri=row.redirect_uri,
                      code_challenge=row.code_challenge, scopes=frozenset(row.scopes), nonce=row.nonce,
                      expires_at=_aware(row.expires_at) or datetime.min.replace(tzinfo=UTC),
                      used_at=_aware(row.used_at), family_id=row.family_id, access_token_id=row.access_token_id,
                      access_token_expires_at=_aware(row.access_token_expires_at), auth_time=_aware(row.auth_time))


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def new_refresh_token(self, *, client_id: str, user_id: str | None, institution: str,
                                scopes: frozenset[str], ttl: timedelta, family_id: str | None = None,
                                auth_time: datetime | None = None) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        await self.session.execute(sa.insert(refresh_tokens).values(
            token_hash=digest(token), family_id=family_id or str(uuid.uuid4()), client_id=client_id,
            user_id=user_id, institution=institution, scopes=sorted(scopes), issued_at=now, expires_at=now + ttl,
            auth_time=auth_time))
        return token

    async def refresh_token(self, token: str) -> StoredRefreshToken | None:
        row = (await self.session.execute(
            sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == digest(token)))).first()
        if row is None:
            return None
        return StoredRefreshToken(family_id=row.family_id, client_id=row.client_id, user_id=row.user_id,
                                  institution=row.institution, scopes=frozenset(row.scopes),
                                  expires_at=_aware(row.expires_at) or datetime.min.replace(tzinfo=UTC),
                                  used_at=_aware(row.used_at), revoked_at=_aware(row.revoked_at),
                                  auth_time=_aware(row.auth_time))

    async def mark_refresh_used(self, token: str) -> bool:
        """Atomically claim a refresh token; False if someone used it first (a replay)."""
        result = await self.session.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == digest(token), refresh_tokens.c.used_at.is_(None))
            .values(used_at=datetime.now(UTC)))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: str) -> None:
        await self.session.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC)))

    async def revoke_user_tokens(self, user_id: str) -> None:
        await self.session.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC)))

    async def revoke_client_tokens(self, client_id: str) -> None:
        """Every refresh token issued to a client (it was disabled)."""
        await self.session.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.client_id == client_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC)))

    async def expire_client_codes(self, client_id: str) -> None:
        """Authorization codes of a client not redeemed yet can no longer be (it was disabled)."""
        await self._expire_codes(authorization_codes.c.client_id == client_id)

    async def expire_user_codes(self, user_id: str) -> None:
        """Authorization codes of a person not redeemed yet can no longer be (they were disabled)."""
        await self._expire_codes(authorization_codes.c.user_id == user_id)

    async def _expire_codes(self, whose: sa.ColumnElement[bool]) -> None:
        now = datetime.now(UTC)
        await self.session.execute(
            sa.update(authorization_codes)
            .where(whose, authorization_codes.c.used_at.is_(None), authorization_codes.c.expires_at > now)
            .values(expires_at=now))

    async def revoke_access_token(self, jti: str, expires_at: datetime) -> None:
        """Remember a revoked access token until it would have expired anyway (idempotent)."""
        exists = await self.session.scalar(
            sa.select(sa.func.count()).select_from(revoked_access_tokens).where(revoked_access_tokens.c.jti == jti))
        if not exists:
            await self.session.execute(sa.insert(revoked_access_tokens).values(jti=jti, expires_at=expires_at))

    async def access_token_revoked(self, jti: str) -> bool:
        return bool(await self.session.scalar(
            sa.select(sa.func.count()).select_from(revoked_access_tokens).where(revoked_access_tokens.c.jti == jti)))

    async def forget_expired_revocations(self) -> int:
        """Revocations of tokens that have expired anyway are no longer needed."""
        result = await self.session.execute(
            sa.delete(revoked_access_tokens).where(revoked_access_tokens.c.expires_at < datetime.now(UTC)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def new_code(self, *, client_id: str, user_id: str, redirect_uri: str, code_challenge: str,
                       scopes: frozenset[str], nonce: str | None, ttl: timedelta, auth_time: datetime) -> str:
        code = secrets.token_urlsafe(32)
        await self.session.execute(sa.insert(authorization_codes).values(
            code_hash=digest(code), client_id=client_id, user_id=user_id, redirect_uri=redirect_uri,
            code_challenge=code_challenge, scopes=sorted(scopes), nonce=nonce,
            expires_at=datetime.now(UTC) + ttl, auth_time=auth_time))
        return code

    async def claim_code(self, code: str) -> tuple[StoredCode | None, bool]:
        """The code, and whether this call claimed it (False: unknown, or already used: a replay)."""
        row: Any = (await self.session.execute(
            sa.select(authorization_codes).where(authorization_codes.c.code_hash == digest(code)))).first()
        if row is None:
            return None, False
        stored = _stored_code(row)
        result = await self.session.execute(
            sa.update(authorization_codes)
            .where(authorization_codes.c.code_hash == digest(code), authorization_codes.c.used_at.is_(None))
            .values(used_at=datetime.now(UTC)))
        return stored, bool(result.rowcount)  # type: ignore[attr-defined]

    async def remember_code_tokens(self, code: str, *, family_id: str, access_token_id: str,
                                   access_token_expires_at: datetime) -> None:
        """What a code was redeemed for, so that a replay of the code can revoke it."""
        await self.session.execute(
            sa.update(authorization_codes).where(authorization_codes.c.code_hash == digest(code))
            .values(family_id=family_id, access_token_id=access_token_id,
                    access_token_expires_at=access_token_expires_at))

    async def revoke_code_tokens(self, code: str) -> None:
        """A redeemed code was replayed: revoke the refresh-token family and the access token issued for it. Read
        again here, after the replay's claim failed, so that a redemption that committed meanwhile is seen."""
        row: Any = (await self.session.execute(
            sa.select(authorization_codes).where(authorization_codes.c.code_hash == digest(code)))).first()
        if row is None:
            return
        if row.family_id:
            await self.revoke_family(row.family_id)
        if row.access_token_id and row.access_token_expires_at is not None:
            await self.revoke_access_token(row.access_token_id, _aware(row.access_token_expires_at)
                                           or datetime.now(UTC))
