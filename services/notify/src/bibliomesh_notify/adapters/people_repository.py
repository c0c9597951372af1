from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.directory import PersonChangedV1
from bibliomesh_notify.adapters.tables import people
from meshkit.replica import upsert_if_newer

STAFF_ROLES = frozenset({"staff", "institution-admin"})
ADMIN_ROLES = frozenset({"institution-admin"})


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, person: PersonChangedV1) -> bool:
        return await upsert_if_newer(self.session, people, "subject", person.model_dump(mode="json"))

    async def get(self, subject: str) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(people).where(people.c.subject == subject))).first()
        return dict(row._mapping) if row else None

    async def active_with_roles(self, institution: str, roles: frozenset[str]) -> list[dict[str, Any]]:
        """Active people of `institution` holding any of `roles` (roles are few per person: filtered here)."""
        rows = await self.session.execute(sa.select(people).where(
            people.c.institution == institution, people.c.status == "active").order_by(people.c.subject))
        return [dict(r._mapping) for r in rows if roles & set(r.roles)]
