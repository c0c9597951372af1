from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.tables import holders
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from meshkit.replica import upsert_if_newer

KNOWN_STATUSES = ("active", "suspended")
_FIELDS = {"code", "name_en", "name_zh", "kind", "parent_code", "regions", "status", "version"}


class HolderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, institution: InstitutionSnapshot) -> bool:
        return await upsert_if_newer(self.session, holders, "code",
                                     institution.model_dump(mode="json", include=_FIELDS))

    async def status_of(self, code: str) -> str | None:
        """The institution's status in the directory copy (`active`, `suspended`), None if it is not known yet."""
        status: str | None = await self.session.scalar(sa.select(holders.c.status).where(holders.c.code == code))
        return status

    async def knows(self, code: str) -> bool:
        """Whether the directory copy holds the institution with a status the directory contract defines (a row with
        any other status, such as a deletion the directory might announce one day, is not an institution)."""
        return await self.status_of(code) in KNOWN_STATUSES

    async def list(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(sa.select(holders).order_by(holders.c.code))
        return [dict(r._mapping) for r in rows]
