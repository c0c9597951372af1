"""API clients of partner-library systems (and the platform's own bootstrap client)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import clients


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    institution: str
    secret_hash: str
    scopes: frozenset[str]
    roles: frozenset[str]
    disabled: bool


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str) -> Client | None:
        row = (await self.session.execute(sa.select(clients).where(clients.c.client_id == client_id))).first()
        if row is None:
            return None
        return Client(client_id=row.client_id, name=row.name, institution=row.institution,
                      secret_hash=row.secret_hash, scopes=frozenset(row.scopes), roles=frozenset(row.roles),
                      disabled=row.disabled_at is not None)

    async def add(self, client_id: str, name: str, institution: str, secret_hash: str,
                  scopes: set[str], roles: set[str]) -> None:
        await self.session.execute(sa.insert(clients).values(
            client_id=client_id, name=name, institution=institution, secret_hash=secret_hash,
            scopes=sorted(scopes), roles=sorted(roles), created_at=datetime.now(UTC)))

    async def update_secret(self, client_id: str, secret_hash: str) -> None:
        await self.session.execute(sa.update(clients).where(clients.c.client_id == client_id)
                                   .values(secret_hash=secret_hash))
