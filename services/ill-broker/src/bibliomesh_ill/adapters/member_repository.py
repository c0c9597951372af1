from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_ill.adapters.tables import members
from bibliomesh_ill.domain.tiers import Member
from meshkit.replica import upsert_if_newer

_FIELDS = {"code", "kind", "parent_code", "regions", "open_sharing", "status", "policy", "iso18626",
           "pickup_locations", "version"}


def _member(row: Any) -> Member:
    return Member(code=row.code, kind=row.kind, parent_code=row.parent_code, regions=frozenset(row.regions),
                  open_sharing=row.open_sharing, active=row.status == "active", policy=dict(row.policy or {}),
                  iso18626=row.iso18626, pickup_locations=tuple(row.pickup_locations or ()))


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, institution: InstitutionSnapshot) -> bool:
        values = institution.model_dump(mode="json", include=_FIELDS)
        values["name"] = institution.name_en
        return await upsert_if_newer(self.session, members, "code", values)

    async def all(self) -> list[Member]:
        rows = await self.session.execute(sa.select(members).order_by(members.c.code))
        return [_member(r) for r in rows]

    async def get(self, code: str) -> Member | None:
        row = (await self.session.execute(sa.select(members).where(members.c.code == code))).first()
        return _member(row) if row else None

    async def by_codes(self, codes: set[str]) -> dict[str, Member]:
        rows = await self.session.execute(sa.select(members).where(members.c.code.in_(codes)))
        return {r.code: _member(r) for r in rows}

    async def external_by_agency(self, agency_id: str) -> Member | None:
        """An institution outside the platform, by the agency id its ISO 18626 messages carry (its code)."""
        member = await self.get(agency_id)
        return member if member is not None and member.external else None
