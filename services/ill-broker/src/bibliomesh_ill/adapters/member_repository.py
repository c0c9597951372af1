from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_ill.adapters.tables import members
from bibliomesh_ill.domain.tiers import Member
from meshkit.replica import upsert_if_newer

_FIELDS = {"code", "kind", "parent_code", "regions", "open_sharing", "status", "policy", "iso18626", "version"}


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, institution: InstitutionSnapshot) -> bool:
        return await upsert_if_newer(self.session, members, "code",
                                     institution.model_dump(mode="json", include=_FIELDS))

    async def all(self) -> list[Member]:
        rows = await self.session.execute(sa.select(members).order_by(members.c.code))
        return [Member(code=r.code, kind=r.kind, parent_code=r.parent_code, regions=frozenset(r.regions),
                       open_sharing=r.open_sharing, active=r.status == "active") for r in rows]
