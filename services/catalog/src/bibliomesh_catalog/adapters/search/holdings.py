"""What a result page shows beyond the index: union records, live holdings and the holders' names and regions.

Read from the tables at query time, so availability on a result is as fresh as the last circulation update even
if the index lags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search.documents import holder_join, holder_suspended, is_available
from bibliomesh_catalog.adapters.tables import clusters, holders, holdings, records


@dataclass(frozen=True)
class Holder:
    """An institution as the directory describes it."""

    code: str
    name_en: str
    name_zh: str | None
    regions: tuple[str, ...]


@dataclass(frozen=True)
class ItemState:
    """One holding of a cluster, with the member record it belongs to."""

    record_id: int
    institution: str
    item_id: str
    location: str | None
    call_number: str | None
    format: str
    status: str
    due_date: date | None
    ill_copy_allowed: bool
    suspended: bool = False
    """Its institution is suspended: it neither lends nor borrows now."""

    @property
    def available(self) -> bool:
        """On the shelf, or electronic with a licence for interlibrary copies, at an institution not suspended."""
        return is_available(self.status, self.format, self.ill_copy_allowed, self.suspended)


async def load_holders(session: AsyncSession) -> dict[str, Holder]:
    """Every holder by code (a few hundred rows at most: read per request so renames show at once)."""
    rows = await session.execute(sa.select(holders.c.code, holders.c.name_en, holders.c.name_zh, holders.c.regions))
    return {code: Holder(code, name_en, name_zh, tuple(regions or ())) for code, name_en, name_zh, regions in rows}


def region_members(all_holders: dict[str, Holder], region: str) -> frozenset[str]:
    """The institutions in a region."""
    return frozenset(code for code, holder in all_holders.items() if region in holder.regions)


async def load_displays(session: AsyncSession, cluster_ids: Collection[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """(format, union record) of the live clusters among `cluster_ids`."""
    if not cluster_ids:
        return {}
    rows = await session.execute(sa.select(clusters.c.id, clusters.c.format, clusters.c.display).where(
        clusters.c.id.in_(list(cluster_ids)), clusters.c.deleted_at.is_(None)))
    return {int(cluster_id): (format_, display or {}) for cluster_id, format_, display in rows}


async def load_items(session: AsyncSession, cluster_ids: Collection[int]) -> dict[int, list[ItemState]]:
    """The live holdings of each cluster, ordered by institution and item, with whether their holder is suspended."""
    found: dict[int, list[ItemState]] = defaultdict(list)
    if not cluster_ids:
        return found
    rows = await session.execute(
        sa.select(records.c.cluster_id, holdings.c.record_id, holdings.c.institution, holdings.c.item_id,
                  holdings.c.location, holdings.c.call_number, holdings.c.format, holdings.c.status,
                  holdings.c.due_date, holdings.c.ill_copy_allowed, holder_suspended())
        .select_from(holder_join(holdings.join(records, records.c.id == holdings.c.record_id)))
        .where(records.c.cluster_id.in_(list(cluster_ids)), records.c.deleted_at.is_(None))
        .order_by(holdings.c.institution, holdings.c.item_id))
    for (cluster_id, record_id, institution, item_id, location, call_number, format_, status, due_date,
         ill_copy_allowed, suspended) in rows:
        found[int(cluster_id)].append(ItemState(int(record_id), institution, item_id, location, call_number,
                                                format_, status, due_date, ill_copy_allowed, bool(suspended)))
    return found


async def load_representative_marc(session: AsyncSession,
                                   cluster_ids: Collection[int]) -> dict[int, tuple[str | None, str]]:
    """(MARC-in-JSON, institution) of each cluster's most complete live member: the longest record, oldest on a tie."""
    if not cluster_ids:
        return {}
    rows = await session.execute(
        sa.select(records.c.cluster_id, records.c.marc, records.c.institution)
        .where(records.c.cluster_id.in_(list(cluster_ids)), records.c.deleted_at.is_(None))
        .order_by(records.c.cluster_id, sa.func.coalesce(sa.func.length(records.c.marc), -1).desc(), records.c.id))
    chosen: dict[int, tuple[str | None, str]] = {}
    for cluster_id, marc, institution in rows:
        chosen.setdefault(int(cluster_id), (marc, institution))
    return chosen
