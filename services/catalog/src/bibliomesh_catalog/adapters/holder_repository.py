from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from sqlalchemy.ext.asyncio import AsyncSession

from meshkit.replica import upsert_if_newer

from bibliomesh_catalog.adapters.tables import holders


class HolderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, institution: InstitutionSnapshot) -> bool:
        return await upsert_if_newer(self.session, holders, "code",
                                     institution.model_dump(mode="json", include={"code", "name_en", "name_zh", "kind", "parent_code", "regions", "status", "version"}))

    async def list(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(sa.select(holders).order_by(holders.c.code))
        return [dict(r._mapping) for r in rows]
