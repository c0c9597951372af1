"""API clients: partner-library systems (confidential), browser apps (public, PKCE) and the bootstrap client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import clients
from bibliomesh_auth.domain.clients import issued_in_time, tokens_not_before
from meshkit.db import lock_until_commit

CLIENT_IDS_LOCK_KEY = 0x636C_6964  # "clid": one advisory lock serializes choosing new client ids on PostgreSQL


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    institution: str
    secret_hash: str
    scopes: frozenset[str]
    roles: frozenset[str]
    disabled: bool
    redirect_uris: tuple[str, ...] = ()
    grant_types: frozenset[str] = frozenset({"client_credentials"})
    is_public: bool = False
    created_at: datetime | None = None
    created_by: str | None = None
    tokens_not_before: datetime | None = None
    """Its tokens issued before this are refused, also once it is enabled again (set when it is disabled)."""

    def accepts_token_issued_at(self, issued_at: object) -> bool:
        """Enabled, and the token (`iat`) was issued since the client was last disabled."""
        return not self.disabled and issued_in_time(issued_at, self.tokens_not_before)


def _client(row: Any) -> Client:
    return Client(client_id=row.client_id, name=row.name, institution=row.institution, secret_hash=row.secret_hash,
                  scopes=frozenset(row.scopes), roles=frozenset(row.roles), disabled=row.disabled_at is not None,
                  redirect_uris=tuple(row.redirect_uris or ()), grant_types=frozenset(row.grant_types or ()),
                  is_public=bool(row.is_public), created_at=row.created_at, created_by=row.created_by,
                  tokens_not_before=_utc(row.tokens_not_before))


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes, written as UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str, *, lock: bool = False) -> Client | None:
        """The client; with `lock`, no one else changes it until this transaction ends (there is no version)."""
        statement = sa.select(clients).where(clients.c.client_id == client_id)
        if lock:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).first()
        return _client(row) if row else None

    async def ids(self, *, lock: bool = False) -> list[str]:
        """Every client's id, disabled ones' too; with `lock`, no other transaction that asks with `lock` reads them
        until this one ends (so two new ids that look alike are never both judged free)."""
        if lock:
            await lock_until_commit(self.session, CLIENT_IDS_LOCK_KEY, clients)
        return list((await self.session.scalars(sa.select(clients.c.client_id))).all())

    async def for_institution(self, institution: str | None) -> list[Client]:
        statement = sa.select(clients).order_by(clients.c.client_id)
        if institution is not None:
            statement = statement.where(clients.c.institution == institution)
        return [_client(r) for r in await self.session.execute(statement)]

    async def add(self, client_id: str, name: str, institution: str, secret_hash: str, scopes: set[str],
                  roles: set[str], *, redirect_uris: list[str] | None = None, grant_types: list[str] | None = None,
                  is_public: bool = False, created_by: str | None = None) -> None:
        await self.session.execute(sa.insert(clients).values(
            client_id=client_id, name=name, institution=institution, secret_hash=secret_hash,
            scopes=sorted(scopes), roles=sorted(roles), created_at=datetime.now(UTC),
            redirect_uris=redirect_uris or [], grant_types=sorted(grant_types or ["client_credentials"]),
            is_public=is_public, created_by=created_by))

    async def list(self, institution: str | None, *, include_disabled: bool = True) -> list[Client]:
        """Clients of one institution (None: all), ordered by institution and id."""
        statement = sa.select(clients).order_by(clients.c.institution, clients.c.client_id)
        if institution is not None:
            statement = statement.where(clients.c.institution == institution)
        if not include_disabled:
            statement = statement.where(clients.c.disabled_at.is_(None))
        return [_client(r) for r in await self.session.execute(statement)]

    async def update_secret(self, client_id: str, secret_hash: str) -> None:
        await self.session.execute(sa.update(clients).where(clients.c.client_id == client_id)
                                   .values(secret_hash=secret_hash))

    async def update(self, client_id: str, *, name: str, scopes: frozenset[str], roles: frozenset[str],
                     redirect_uris: tuple[str, ...], grant_types: frozenset[str]) -> None:
        await self.session.execute(sa.update(clients).where(clients.c.client_id == client_id).values(
            name=name, scopes=sorted(scopes), roles=sorted(roles), redirect_uris=list(redirect_uris),
            grant_types=sorted(grant_types)))

    async def disable(self, client_id: str) -> None:
        """Disabled from now on; the tokens issued to it so far stay refused even once it is enabled again."""
        now = datetime.now(UTC)
        await self.session.execute(sa.update(clients).where(clients.c.client_id == client_id)
                                   .values(disabled_at=now, tokens_not_before=tokens_not_before(now)))

    async def enable(self, client_id: str) -> None:
        await self.session.execute(sa.update(clients).where(clients.c.client_id == client_id)
                                   .values(disabled_at=None))
