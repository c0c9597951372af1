"""The broker's copy of holdings: routing reads it, catalogue events keep it current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.catalog.holdings import HoldingsChangedV1
from bibliomesh_ill.adapters.tables import TITLE_LENGTH, holding_identifiers, holdings
from bibliomesh_ill.domain.rota import Holding

_COPIED = {"institution", "item_id", "cluster_id", "local_id", "status", "available", "due_date", "format",
           "ill_copy_allowed", "location", "call_number", "isbns", "issns", "oclc_numbers", "title_key", "title",
           "alt_title"}


@dataclass(frozen=True)
class ClusterTitle:
    """How the broker's copy names a cluster: the title of one of its records, and the match key of one."""

    title: str | None
    title_key: str | None

    @property
    def key_words(self) -> str:
        """The title part of the match key: lowercased and stripped, only for copies older than `title`."""
        return (self.title_key or "").split("|")[0]


def _holding(row: Any) -> Holding:
    return Holding(institution=row.institution, item_id=row.item_id, status=row.status, format=row.format,
                   ill_copy_allowed=row.ill_copy_allowed, due_date=row.due_date, cluster_id=row.cluster_id)


class HoldingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, change: HoldingsChangedV1, version: int) -> bool:
        """Keep the newest version of each item; a withdrawn item stays as a tombstone."""
        key = (holdings.c.institution == change.institution) & (holdings.c.item_id == change.item_id)
        current = (await self.session.execute(sa.select(holdings.c.version, holdings.c.local_id).where(key))).first()
        if current is not None and current.version >= version:
            return False
        values = change.model_dump(include=_COPIED)
        if change.title is None and current is not None and current.local_id == change.local_id:
            # from a catalogue older than the title (a rolling upgrade): it says nothing about the record's titles
            del values["title"], values["alt_title"]
        for name in ("title", "alt_title"):
            if values.get(name):
                values[name] = values[name][:TITLE_LENGTH]
        values.update(withdrawn=change.change == "withdrawn", version=version)
        statement = sa.insert(holdings) if current is None else sa.update(holdings).where(key)
        await self.session.execute(statement.values(**values))
        await self._index(change)
        return True

    async def _index(self, change: HoldingsChangedV1) -> None:
        item = (holding_identifiers.c.institution == change.institution) & \
            (holding_identifiers.c.item_id == change.item_id)
        await self.session.execute(sa.delete(holding_identifiers).where(item))
        if change.change == "withdrawn":
            return
        keys = {("isbn", v) for v in change.isbns} | {("issn", v) for v in change.issns} | \
            {("oclc", v) for v in change.oclc_numbers}
        if keys:
            await self.session.execute(sa.insert(holding_identifiers), [
                {"kind": kind, "value": value[:40], "institution": change.institution, "item_id": change.item_id}
                for kind, value in sorted(keys)])

    async def for_cluster(self, cluster_id: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            sa.select(holdings).where(holdings.c.cluster_id == cluster_id, holdings.c.withdrawn.is_(False))
            .order_by(holdings.c.institution, holdings.c.item_id))
        return [dict(r._mapping) for r in rows]

    async def matching(self, *, cluster_id: int | None = None, identifiers: set[tuple[str, str]] | None = None,
                       title_key: str | None = None) -> list[Holding]:
        """Live items that serve a request: the cluster's, else those sharing an identifier, else the title key."""
        live = holdings.c.withdrawn.is_(False)
        if cluster_id is not None:
            query = sa.select(holdings).where(live, holdings.c.cluster_id == cluster_id)
        elif identifiers:
            matched = sa.select(holding_identifiers.c.institution, holding_identifiers.c.item_id).where(
                sa.tuple_(holding_identifiers.c.kind, holding_identifiers.c.value).in_(sorted(identifiers)))
            query = sa.select(holdings).where(live, sa.tuple_(holdings.c.institution, holdings.c.item_id).in_(matched))
        elif title_key:
            query = sa.select(holdings).where(live, holdings.c.title_key == title_key)
        else:
            return []
        rows = await self.session.execute(query.order_by(holdings.c.institution, holdings.c.item_id))
        return [_holding(r) for r in rows]

    async def title_of_cluster(self, cluster_id: int) -> ClusterTitle:
        """The longest title among the cluster's items, live ones first (as the catalogue's display takes the
        longest of its members'); items copied before titles were carried have none."""
        row = (await self.session.execute(
            sa.select(holdings.c.title, holdings.c.title_key)
            .where(holdings.c.cluster_id == cluster_id)
            .order_by(holdings.c.title.is_(None), holdings.c.withdrawn, sa.func.length(holdings.c.title).desc(),
                      holdings.c.institution, holdings.c.item_id).limit(1))).first()
        return ClusterTitle(None, None) if row is None else ClusterTitle(row.title, row.title_key)
