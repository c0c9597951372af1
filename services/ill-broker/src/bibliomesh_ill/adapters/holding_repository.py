"""The broker's copy of holdings: routing reads it, catalogue events keep it current."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.catalog.holdings import HoldingsChangedV1
from bibliomesh_ill.adapters.tables import holdings


class HoldingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, change: HoldingsChangedV1, version: int) -> bool:
        """Keep the newest version of each item; a withdrawn item stays as a tombstone."""
        key = (holdings.c.institution == change.institution) & (holdings.c.item_id == change.item_id)
        current = await self.session.scalar(sa.select(holdings.c.version).where(key))
        if current is not None and current >= version:
            return False
        values = change.model_dump(include={"institution", "item_id", "cluster_id", "local_id", "status", "available",
                                            "due_date", "format", "ill_copy_allowed", "location", "call_number",
                                            "isbns", "issns", "oclc_numbers", "title_key"})
        values.update(withdrawn=change.change == "withdrawn", version=version)
        statement = sa.insert(holdings) if current is None else sa.update(holdings).where(key)
        await self.session.execute(statement.values(**values))
        return True

    async def for_cluster(self, cluster_id: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            sa.select(holdings).where(holdings.c.cluster_id == cluster_id, holdings.c.withdrawn.is_(False))
            .order_by(holdings.c.institution, holdings.c.item_id))
        return [dict(r._mapping) for r in rows]
