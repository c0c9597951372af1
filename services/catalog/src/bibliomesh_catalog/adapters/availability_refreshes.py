"""The `availability_refreshes` table: institutions whose status change is still being carried into the search
documents, and the cluster id the last committed batch ended at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.tables import availability_refreshes as table
from meshkit.db import conflict_insert


@dataclass(frozen=True)
class PendingRefresh:
    institution: str
    after_cluster_id: int


class AvailabilityRefreshes:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def request(self, institution: str) -> None:
        """Ask for the institution's clusters to be recomputed from the first; a refresh already under way starts
        over, since the clusters it did were computed with the status before this one."""
        insert = conflict_insert(self.session, table)
        values = {"institution": institution, "after_cluster_id": 0, "requested_at": datetime.now(UTC)}
        await self.session.execute(insert.values(**values).on_conflict_do_update(
            index_elements=[table.c.institution],
            set_={"after_cluster_id": 0, "requested_at": values["requested_at"]}))

    async def oldest(self) -> PendingRefresh | None:
        row = (await self.session.execute(
            sa.select(table.c.institution, table.c.after_cluster_id)
            .order_by(table.c.requested_at, table.c.institution).limit(1))).first()
        return PendingRefresh(row.institution, int(row.after_cluster_id)) if row else None

    async def advance(self, institution: str, after_cluster_id: int) -> None:
        await self.session.execute(sa.update(table).where(table.c.institution == institution)
                                   .values(after_cluster_id=after_cluster_id))

    async def finish(self, institution: str) -> None:
        await self.session.execute(sa.delete(table).where(table.c.institution == institution))
