"""The broker's copy of holdings: routing reads it, catalogue events keep it current."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.catalog.holdings import HoldingsChangedV1
from bibliomesh_ill.adapters.tables import TITLE_LENGTH, holding_identifiers, holdings
from bibliomesh_ill.domain.rota import Holding

CHUNK = 500  # item ids per IN list
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


def _row(change: HoldingsChangedV1, version: int, current: dict[str, Any] | None) -> dict[str, Any]:
    """The item's row after `change`, given the row before it (`current`, None for a new item)."""
    values = change.model_dump(include=_COPIED)
    if change.title is None and current is not None and current["local_id"] == change.local_id:
        # from a catalogue older than the title (a rolling upgrade): it says nothing about the record's titles
        values.update(title=current["title"], alt_title=current["alt_title"])
    for name in ("title", "alt_title"):
        if values.get(name):
            values[name] = values[name][:TITLE_LENGTH]
    values.update(withdrawn=change.change == "withdrawn", version=version)
    return values


class HoldingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, change: HoldingsChangedV1, version: int) -> bool:
        """Keep the newest version of each item; a withdrawn item stays as a tombstone."""
        return await self.apply_many([(change, version)]) > 0

    async def apply_many(self, changes: Sequence[tuple[HoldingsChangedV1, int]]) -> int:
        """`apply` each change in order, in a few statements whatever their number: the items' stored rows are read
        at once, each item's changes are folded in memory as `apply` would one by one, and what they come to is
        written a table at a time. Returns how many changes were newer than what was held."""
        keys = {(change.institution, change.item_id) for change, _ in changes}
        stored = await self._stored(keys)
        outcome: dict[tuple[str, str], tuple[HoldingsChangedV1, dict[str, Any]]] = {}
        applied = 0
        for change, version in changes:
            key = (change.institution, change.item_id)
            current = outcome[key][1] if key in outcome else stored.get(key)
            if current is not None and current["version"] >= version:
                continue
            outcome[key] = (change, _row(change, version, current))
            applied += 1
        inserts = [row for key, (_, row) in outcome.items() if key not in stored]
        updates = [{**row, "b_institution": row["institution"], "b_item_id": row["item_id"]}
                   for key, (_, row) in outcome.items() if key in stored]
        if inserts:
            await self.session.execute(sa.insert(holdings), inserts)
        if updates:
            await self.session.execute(sa.update(holdings).where(
                holdings.c.institution == sa.bindparam("b_institution"),
                holdings.c.item_id == sa.bindparam("b_item_id")), updates)
        await self._index([change for change, _ in outcome.values()])
        return applied

    async def _stored(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """What `apply_many` needs of the stored rows of these items."""
        by_institution: dict[str, list[str]] = defaultdict(list)
        for institution, item_id in keys:
            by_institution[institution].append(item_id)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for institution, item_ids in by_institution.items():
            for start in range(0, len(item_ids), CHUNK):
                rows = await self.session.execute(
                    sa.select(holdings.c.item_id, holdings.c.version, holdings.c.local_id, holdings.c.title,
                              holdings.c.alt_title)
                    .where(holdings.c.institution == institution,
                           holdings.c.item_id.in_(item_ids[start:start + CHUNK])))
                found.update({(institution, row.item_id): dict(row._mapping) for row in rows})
        return found

    async def _index(self, changes: Sequence[HoldingsChangedV1]) -> None:
        """The identifiers of these items as their latest change states them (none once withdrawn)."""
        by_institution: dict[str, list[str]] = defaultdict(list)
        for change in changes:
            by_institution[change.institution].append(change.item_id)
        for institution, item_ids in by_institution.items():
            for start in range(0, len(item_ids), CHUNK):
                await self.session.execute(sa.delete(holding_identifiers).where(
                    holding_identifiers.c.institution == institution,
                    holding_identifiers.c.item_id.in_(item_ids[start:start + CHUNK])))
        rows = [{"kind": kind, "value": value[:40], "institution": change.institution, "item_id": change.item_id}
                for change in changes if change.change != "withdrawn"
                for kind, value in sorted({("isbn", v) for v in change.isbns} | {("issn", v) for v in change.issns}
                                          | {("oclc", v) for v in change.oclc_numbers})]
        if rows:
            await self.session.execute(sa.insert(holding_identifiers), rows)

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
