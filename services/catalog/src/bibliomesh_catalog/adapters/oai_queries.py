"""What the OAI-PMH provider reads: cluster headers in datestamp order, their sets, and the sets there are.

Set membership has one source, `cluster_sets` (kept by `oai_sets` in the transaction of every holdings change):
a cluster is in the set of each institution holding an item of one of its live members. A deleted cluster keeps
its header (deletedRecord `persistent`) and the sets it was in when it went, and is listed when those sets are
harvested. OAI-PMH has no deletion from one set only, so a live cluster that an institution stopped holding is
listed, as changed, by a harvest of that institution's set from before it left (`from` at or before the moment
it left); its header shows the sets it is in now, without that one. ListSets names the sets that have a member
now (live or deleted), so every set it names answers a harvest without `from` with at least one record.
Sets are named here by institution code (so is `cluster_sets.set_spec`); `service_layer/oai_set_specs` maps
codes to the setSpecs harvesters see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.tables import cluster_sets, clusters, holders


@dataclass(frozen=True)
class Header:
    """One cluster as an OAI header."""

    cluster_id: int
    datestamp: datetime
    deleted: bool


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _header(cluster_id: int, updated_at: datetime, deleted_at: datetime | None) -> Header:
    return Header(int(cluster_id), utc(updated_at), deleted_at is not None)


def _filters(start: datetime | None, end: datetime | None, institution: str | None,
             ) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if start is not None:
        conditions.append(clusters.c.updated_at >= start)
    if end is not None:
        conditions.append(clusters.c.updated_at < end)
    if institution is not None:
        # `left_at` null: in the set now, or when it was deleted; otherwise it left the set within the window.
        was_in = cluster_sets.c.left_at.is_(None) if start is None else sa.or_(
            cluster_sets.c.left_at.is_(None), cluster_sets.c.left_at >= start)
        conditions.append(sa.exists().where(cluster_sets.c.cluster_id == clusters.c.id,
                                            cluster_sets.c.set_spec == institution, was_in))
    return conditions


async def count_headers(session: AsyncSession, start: datetime | None, end: datetime | None,
                        institution: str | None) -> int:
    """How many clusters are in the window (and the institution's set, if given)."""
    query = sa.select(sa.func.count()).select_from(clusters).where(*_filters(start, end, institution))
    return int((await session.execute(query)).scalar_one())


async def page_of_headers(session: AsyncSession, start: datetime | None, end: datetime | None,
                          institution: str | None, after: tuple[datetime, int] | None, limit: int
                          ) -> list[Header]:
    """Up to `limit` headers in (datestamp, id) order, following `after` if given; of the institution's set only,
    if given."""
    conditions = _filters(start, end, institution)
    if after is not None:
        conditions.append(sa.or_(clusters.c.updated_at > after[0],
                                 sa.and_(clusters.c.updated_at == after[0], clusters.c.id > after[1])))
    rows = await session.execute(
        sa.select(clusters.c.id, clusters.c.updated_at, clusters.c.deleted_at).where(*conditions)
        .order_by(clusters.c.updated_at, clusters.c.id).limit(limit))
    return [_header(*row) for row in rows]


async def header(session: AsyncSession, cluster_id: int) -> Header | None:
    row = (await session.execute(sa.select(clusters.c.id, clusters.c.updated_at, clusters.c.deleted_at)
                                 .where(clusters.c.id == cluster_id))).first()
    return _header(*row) if row is not None else None


async def earliest_datestamp(session: AsyncSession) -> datetime | None:
    value = (await session.execute(sa.select(sa.func.min(clusters.c.updated_at)))).scalar_one()
    return utc(value) if value is not None else None


async def sets_of(session: AsyncSession, headers: Collection[Header]) -> dict[int, list[str]]:
    """The sets of each cluster as institution codes, sorted: the institutions holding its items, or for a
    deleted cluster those that held it when it went."""
    found: dict[int, list[str]] = defaultdict(list)
    if headers:
        rows = await session.execute(
            sa.select(cluster_sets.c.cluster_id, cluster_sets.c.set_spec)
            .where(cluster_sets.c.cluster_id.in_([h.cluster_id for h in headers]), cluster_sets.c.left_at.is_(None))
            .order_by(cluster_sets.c.cluster_id, cluster_sets.c.set_spec))
        for cluster_id, code in rows:
            found[int(cluster_id)].append(code)
    return found


async def holder_sets(session: AsyncSession) -> list[tuple[str, str]]:
    """(code, English name) of every set with a member now, by code; an institution the directory copy does not
    name is named by its code."""
    members = sa.select(cluster_sets.c.set_spec).where(cluster_sets.c.left_at.is_(None)).distinct().subquery()
    rows = await session.execute(
        sa.select(members.c.set_spec, sa.func.coalesce(holders.c.name_en, members.c.set_spec))
        .select_from(members.outerjoin(holders, holders.c.code == members.c.set_spec))
        .order_by(members.c.set_spec))
    return [(code, name) for code, name in rows]
