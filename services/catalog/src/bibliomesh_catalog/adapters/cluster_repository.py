"""Queries on clusters (union records), staff overrides, and the public view of one cluster."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.record_repository import allocate_ids, chunked, one_of
from bibliomesh_catalog.adapters.tables import cluster_overrides, clusters, holders, holdings, records
from meshkit.bulk import insert_many, update_many

Pair = tuple[tuple[str, str], tuple[str, str]]


class ClusterRepository:
    """Clusters and the overrides that shape them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert clusters; their ids in the order given."""
        ids = await allocate_ids(self.session, clusters, len(rows))
        await insert_many(self.session, clusters, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids

    async def load(self, cluster_ids: Collection[int]) -> dict[int, sa.Row[Any]]:
        """Clusters (live or deleted) by id."""
        found: dict[int, sa.Row[Any]] = {}
        for part in chunked(sorted(cluster_ids)):
            rows = await self.session.execute(sa.select(clusters).where(one_of(self.session, clusters.c.id, part)))
            found.update({row.id: row for row in rows})
        return found

    async def update(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update clusters by `cluster_id` (all rows have the same keys)."""
        await update_many(self.session, clusters, rows, key="cluster_id")

    async def in_work(self, work_ids: Collection[int], excluding: Collection[int]) -> dict[int, list[int]]:
        """Live clusters of these works, other than `excluding`, by work id."""
        found: dict[int, list[int]] = {}
        for part in chunked(sorted(work_ids)):
            rows = await self.session.execute(sa.select(clusters.c.id, clusters.c.work_id).where(
                one_of(self.session, clusters.c.work_id, part), clusters.c.deleted_at.is_(None)))
            for row in rows:
                if row.id not in excluding:
                    found.setdefault(row.work_id, []).append(row.id)
        return found

    async def overrides_involving(self, refs: Collection[tuple[str, str]]) -> list[sa.Row[Any]]:
        """Staff decisions naming any of these (institution, local_id) records."""
        found: dict[int, sa.Row[Any]] = {}
        by_institution: dict[str, list[str]] = {}
        for institution, local_id in refs:
            by_institution.setdefault(institution, []).append(local_id)
        for institution, local_ids in by_institution.items():
            for part in chunked(local_ids):
                a_side = sa.and_(cluster_overrides.c.a_institution == institution,
                                 one_of(self.session, cluster_overrides.c.a_local_id, part))
                b_side = sa.and_(cluster_overrides.c.b_institution == institution,
                                 one_of(self.session, cluster_overrides.c.b_local_id, part))
                rows = await self.session.execute(sa.select(cluster_overrides).where(sa.or_(a_side, b_side)))
                found.update({row.id: row for row in rows})
        return list(found.values())

    async def decide(self, pair: Pair, decision: str, decided_by: str, reason: str | None, now: datetime) -> None:
        """Record (or replace) the staff decision on a pair; the pair is stored in a canonical order."""
        (a_institution, a_local_id), (b_institution, b_local_id) = sorted(pair)
        key = sa.and_(cluster_overrides.c.a_institution == a_institution, cluster_overrides.c.a_local_id == a_local_id,
                      cluster_overrides.c.b_institution == b_institution, cluster_overrides.c.b_local_id == b_local_id)
        await self.session.execute(sa.delete(cluster_overrides).where(key))
        await self.session.execute(sa.insert(cluster_overrides).values(
            decision=decision, a_institution=a_institution, a_local_id=a_local_id, b_institution=b_institution,
            b_local_id=b_local_id, decided_by=decided_by[:300], decided_at=now, reason=reason))

    async def view(self, cluster_id: int) -> dict[str, Any] | None:
        """Everything `GET /catalog/clusters/{id}` shows, or None for an unknown or deleted cluster."""
        cluster = (await self.session.execute(sa.select(clusters).where(
            clusters.c.id == cluster_id, clusters.c.deleted_at.is_(None)))).first()
        if cluster is None:
            return None
        members = (await self.session.execute(
            sa.select(records.c.id, records.c.institution, records.c.local_id, records.c.match_key,
                      records.c.title, records.c.year, records.c.format)
            .where(records.c.cluster_id == cluster_id, records.c.deleted_at.is_(None))
            .order_by(records.c.institution, records.c.local_id))).all()
        items = (await self.session.execute(
            sa.select(holdings, records.c.local_id).join(records, records.c.id == holdings.c.record_id)
            .where(holdings.c.record_id.in_([m.id for m in members]))
            .order_by(holdings.c.institution, holdings.c.item_id))).all() if members else []
        codes = sorted({i.institution for i in items})
        names = {row.code: row for row in await self.session.execute(
            sa.select(holders.c.code, holders.c.name_en, holders.c.name_zh, holders.c.status)
            .where(holders.c.code.in_(codes)))}
        others = (await self.session.execute(
            sa.select(clusters.c.id, clusters.c.format, clusters.c.display)
            .where(clusters.c.work_id == cluster.work_id, clusters.c.id != cluster_id,
                   clusters.c.deleted_at.is_(None)).order_by(clusters.c.id))).all() if cluster.work_id else []
        return {"cluster": cluster, "members": members, "items": items, "holders": names, "other_formats": others}
