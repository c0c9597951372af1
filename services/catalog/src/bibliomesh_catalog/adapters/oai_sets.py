"""Keeping each cluster's OAI-PMH set membership (`cluster_sets`) as its holdings change.

A cluster is in the set of every institution holding an item of one of its live members. When an institution
stops holding it, its row gets `left_at`, and the cluster's datestamp moves to that moment (as it does when the
cluster enters a set), so that a harvester of that set is shown the change (see `oai_queries`). A deleted
cluster is left as it was: its rows say which sets it was in when it went.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.record_repository import chunked, one_of
from bibliomesh_catalog.adapters.tables import cluster_sets, clusters, holdings, records
from meshkit.bulk import insert_many


async def add_sets_of_new_clusters(session: AsyncSession, pairs: Iterable[tuple[int, str]]) -> None:
    """Store the sets of clusters created in the caller's transaction: (cluster id, institution) pairs."""
    await insert_many(session, cluster_sets, [{"cluster_id": cluster_id, "set_spec": code, "left_at": None}
                                              for cluster_id, code in sorted(set(pairs))])


async def refresh_sets(session: AsyncSession, cluster_ids: Collection[int], now: datetime | None = None) -> None:
    """Bring the set membership of these clusters in line with their holdings; deleted clusters keep theirs."""
    now = now or datetime.now(UTC)
    for part in chunked(sorted(set(cluster_ids))):
        live = list((await session.execute(sa.select(clusters.c.id).where(
            one_of(session, clusters.c.id, part), clusters.c.deleted_at.is_(None)))).scalars())
        if live:
            await _refresh(session, live, now)


async def _refresh(session: AsyncSession, live: list[int], now: datetime) -> None:
    held = {(int(c), code) for c, code in await session.execute(
        sa.select(records.c.cluster_id, holdings.c.institution).distinct()
        .join(records, records.c.id == holdings.c.record_id)
        .where(one_of(session, records.c.cluster_id, live), records.c.deleted_at.is_(None)))}
    stored = {(int(c), code): left_at for c, code, left_at in await session.execute(
        sa.select(cluster_sets.c.cluster_id, cluster_sets.c.set_spec, cluster_sets.c.left_at)
        .where(one_of(session, cluster_sets.c.cluster_id, live)))}
    joined = [pair for pair in held if pair not in stored]
    returned = [pair for pair in held if pair in stored and stored[pair] is not None]
    left = [pair for pair, left_at in stored.items() if left_at is None and pair not in held]
    await add_sets_of_new_clusters(session, joined)
    marks = [{"pair_cluster": c, "pair_set": code, "mark": None} for c, code in returned]
    marks += [{"pair_cluster": c, "pair_set": code, "mark": now} for c, code in left]
    if marks:
        statement = sa.update(cluster_sets).where(
            cluster_sets.c.cluster_id == sa.bindparam("pair_cluster"),
            cluster_sets.c.set_spec == sa.bindparam("pair_set")).values(left_at=sa.bindparam("mark"))
        await session.execute(statement.execution_options(synchronize_session=False), marks)
    changed = sorted({cluster_id for cluster_id, _ in [*joined, *returned, *left]})
    if changed:
        # The datestamp of a cluster that entered or left a set must not be older than that change, or a
        # harvester of the set would never be shown it.
        await session.execute(sa.update(clusters).where(
            one_of(session, clusters.c.id, changed), clusters.c.updated_at < now).values(updated_at=now))
