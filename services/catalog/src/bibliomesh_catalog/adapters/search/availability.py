"""Whether clusters can be had now, recomputed for the clusters an institution holds items of.

When an institution is suspended or reinstated nothing about its records changes, only whether its copies can be
requested; a library may hold hundreds of thousands of items, so its clusters are taken a batch at a time, in
cluster id order (the caller commits between batches), and only the availability of the documents whose answer
changed is rewritten (no text is tokenized again).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search import engine_for
from bibliomesh_catalog.adapters.search.documents import holding_states, select_holdings
from bibliomesh_catalog.adapters.tables import holdings, records

BATCH = 500
"""Clusters per transaction."""


async def clusters_held_by(session: AsyncSession, institution: str, after: int, limit: int) -> list[int]:
    """Up to `limit` clusters with an id above `after`, in id order, with a live member holding an item of
    `institution`."""
    rows = await session.execute(
        sa.select(records.c.cluster_id).distinct().join(holdings, holdings.c.record_id == records.c.id)
        .where(holdings.c.institution == institution, records.c.deleted_at.is_(None),
               records.c.cluster_id > after)
        .order_by(records.c.cluster_id).limit(limit))
    return [int(cluster_id) for cluster_id in rows.scalars()]


async def refresh_availability(session: AsyncSession, cluster_ids: Sequence[int]) -> int:
    """Rewrite the availability of the documents of these clusters that no longer tell the truth; returns how
    many."""
    if not cluster_ids:
        return 0
    listed = ", ".join(str(int(i)) for i in cluster_ids)
    query = f"SELECT cluster_id, available FROM search_fts_docs WHERE cluster_id IN ({listed})"  # noqa: S608
    indexed = {int(cluster_id): bool(available) for cluster_id, available in await session.execute(sa.text(query))}
    states = holding_states(await session.execute(select_holdings(list(cluster_ids))))
    wanted = {cluster_id: any(s.available for s in states.get(cluster_id, ())) for cluster_id in indexed}
    different = {cluster_id: now for cluster_id, now in wanted.items() if indexed[cluster_id] != now}
    await engine_for(session).set_availability(session, different)
    return len(different)
