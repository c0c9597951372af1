"""Queries on member records, their match keys and their holdings (all batched: one statement per batch)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.tables import clusters, holding_tombstones, holdings, record_keys, records
from meshkit.bulk import insert_many, update_many
from meshkit.db import lock_until_commit

CHUNK = 500
WRITE_LOCK_KEY = 0x6361_7461  # "cata": one advisory lock serializes catalogue writes on PostgreSQL


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """`values` in slices of at most `size` (bounded statements on either database)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def one_of(session: AsyncSession, column: sa.ColumnElement[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(:array)`, one statement text whatever the count, so the
    driver prepares it once instead of once per batch size."""
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


async def lock_for_writing(session: AsyncSession) -> None:
    """Serialize catalogue writers for the rest of the transaction, so that two batches never both decide to
    start a cluster for the same book."""
    await lock_until_commit(session, WRITE_LOCK_KEY, clusters)


_ANALYZED: set[str] = set()
_STATISTICS_TABLES = ("records", "record_keys", "holdings", "clusters")


async def ensure_statistics(session: AsyncSession) -> None:
    """On PostgreSQL, ANALYZE the catalogue's tables if they never were (a new database being loaded): without
    statistics the planner reads only the first column of the (institution, local_id) and (kind, value) indexes
    and filters the rest, so every batch of a first large import would scan all rows stored before it.
    Autovacuum keeps the statistics up from there on."""
    bind = session.get_bind()
    key = str(getattr(bind, "url", id(bind)))
    if bind.dialect.name != "postgresql" or key in _ANALYZED:
        return
    never = await session.scalar(sa.text(
        "SELECT count(*) FROM pg_class WHERE relname = ANY(:names) AND relkind = 'r' AND reltuples < 0"),
        {"names": list(_STATISTICS_TABLES)})
    if never:
        await session.execute(sa.text(f"ANALYZE {', '.join(_STATISTICS_TABLES)}"))
    else:
        _ANALYZED.add(key)


async def allocate_ids(session: AsyncSession, table: sa.Table, count: int) -> list[int]:
    """Ids for `count` new rows, so that batches insert without RETURNING (which SQLite can only do row by row
    when the order matters). PostgreSQL draws them from the table's sequence; on SQLite the write lock is held
    (`lock_for_writing`) and rows are never physically deleted, so the ids after the largest are free."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        rows = await session.execute(sa.select(sa.func.nextval(sequence)).select_from(
            sa.func.generate_series(1, count)))
        return sorted(rows.scalars())
    largest = await session.scalar(sa.select(sa.func.max(table.c.id)))
    start = (largest or 0) + 1
    return list(range(start, start + count))


class RecordRepository:
    """Member records and their keys."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, institution: str, local_ids: Collection[str]) -> dict[str, sa.Row[Any]]:
        """Existing records (live or deleted) of an institution by local id."""
        found: dict[str, sa.Row[Any]] = {}
        columns = (records.c.id, records.c.local_id, records.c.content_hash, records.c.cluster_id,
                   records.c.version, records.c.deleted_at, records.c.created_at)
        for part in chunked(list(local_ids)):
            rows = await self.session.execute(sa.select(*columns).where(
                records.c.institution == institution, one_of(self.session, records.c.local_id, part)))
            found.update({row.local_id: row for row in rows})
        return found

    async def insert(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert records; their ids in the order given."""
        ids = await allocate_ids(self.session, records, len(rows))
        await insert_many(self.session, records, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids

    async def update(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update records by `record_id` with the other keys of each row (all rows have the same keys)."""
        await update_many(self.session, records, rows, key="record_id")

    async def replace_keys(self, cleared: Collection[int], rows: Sequence[dict[str, Any]]) -> None:
        """Drop the keys of `cleared` records, then insert `rows` (record_id, kind, value)."""
        for part in chunked(list(cleared)):
            await self.session.execute(
                sa.delete(record_keys).where(one_of(self.session, record_keys.c.record_id, part)))
        await insert_many(self.session, record_keys, rows)

    async def sharing(self, keys: Collection[tuple[str, str]]) -> list[tuple[int, str, str]]:
        """Live records holding any of these (kind, value) keys."""
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, value in keys:
            by_kind[kind].append(value)
        found: list[tuple[int, str, str]] = []
        for kind, values in by_kind.items():
            for part in chunked(sorted(set(values))):
                rows = await self.session.execute(
                    sa.select(record_keys.c.record_id, record_keys.c.kind, record_keys.c.value).where(
                        record_keys.c.kind == kind, one_of(self.session, record_keys.c.value, part)))
                found.extend((row.record_id, row.kind, row.value) for row in rows)
        return found

    async def keys_of(self, record_ids: Collection[int]) -> list[tuple[int, str, str]]:
        """(record_id, kind, value) of every key of these records."""
        found: list[tuple[int, str, str]] = []
        for part in chunked(sorted(record_ids)):
            rows = await self.session.execute(
                sa.select(record_keys.c.record_id, record_keys.c.kind, record_keys.c.value).where(
                    one_of(self.session, record_keys.c.record_id, part)))
            found.extend((row.record_id, row.kind, row.value) for row in rows)
        return found

    async def load(self, record_ids: Collection[int]) -> dict[int, sa.Row[Any]]:
        """Records by id, with their descriptions."""
        columns = (records.c.id, records.c.institution, records.c.local_id, records.c.format, records.c.cluster_id,
                   records.c.match_key, records.c.description, records.c.version, records.c.deleted_at,
                   records.c.content_hash)
        found: dict[int, sa.Row[Any]] = {}
        for part in chunked(sorted(record_ids)):
            rows = await self.session.execute(sa.select(*columns).where(one_of(self.session, records.c.id, part)))
            found.update({row.id: row for row in rows})
        return found

    async def refs(self, record_ids: Collection[int]) -> dict[int, sa.Row[Any]]:
        """Records by id without their descriptions: id, institution, local_id, cluster_id, deleted_at."""
        columns = (records.c.id, records.c.institution, records.c.local_id, records.c.cluster_id, records.c.deleted_at)
        found: dict[int, sa.Row[Any]] = {}
        for part in chunked(sorted(record_ids)):
            rows = await self.session.execute(sa.select(*columns).where(one_of(self.session, records.c.id, part)))
            found.update({row.id: row for row in rows})
        return found

    async def members(self, cluster_ids: Collection[int]) -> list[int]:
        """Ids of the live records in these clusters."""
        found: list[int] = []
        for part in chunked(sorted(cluster_ids)):
            rows = await self.session.execute(sa.select(records.c.id).where(
                one_of(self.session, records.c.cluster_id, part), records.c.deleted_at.is_(None)))
            found.extend(rows.scalars())
        return found

    async def ids_of(self, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Live record ids by (institution, local_id)."""
        by_institution: dict[str, list[str]] = defaultdict(list)
        for institution, local_id in pairs:
            by_institution[institution].append(local_id)
        found: dict[tuple[str, str], int] = {}
        for institution, local_ids in by_institution.items():
            for part in chunked(local_ids):
                rows = await self.session.execute(sa.select(records.c.id, records.c.local_id).where(
                    records.c.institution == institution, one_of(self.session, records.c.local_id, part),
                    records.c.deleted_at.is_(None)))
                found.update({(institution, row.local_id): row.id for row in rows})
        return found


class HoldingRepository:
    """Items of member records, and the tombstones of items that went away."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_records(self, record_ids: Collection[int]) -> list[sa.Row[Any]]:
        """Every holding of these records."""
        found: list[sa.Row[Any]] = []
        for part in chunked(sorted(record_ids)):
            found.extend(await self.session.execute(
                sa.select(holdings).where(one_of(self.session, holdings.c.record_id, part))))
        return found

    async def by_items(self, institution: str, item_ids: Collection[str]) -> dict[str, sa.Row[Any]]:
        """An institution's holdings by item id, whatever record they belong to."""
        found: dict[str, sa.Row[Any]] = {}
        for part in chunked(sorted(item_ids)):
            rows = await self.session.execute(sa.select(holdings).where(
                holdings.c.institution == institution, one_of(self.session, holdings.c.item_id, part)))
            found.update({row.item_id: row for row in rows})
        return found

    async def tombstones(self, institution: str, item_ids: Collection[str]) -> dict[str, int]:
        """Last versions of items that went away and may now come back."""
        found: dict[str, int] = {}
        for part in chunked(sorted(item_ids)):
            rows = await self.session.execute(sa.select(holding_tombstones.c.item_id, holding_tombstones.c.version)
                                              .where(holding_tombstones.c.institution == institution,
                                                     one_of(self.session, holding_tombstones.c.item_id, part)))
            found.update({row.item_id: row.version for row in rows})
        return found

    async def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert holdings rows."""
        await insert_many(self.session, holdings, rows)

    async def update(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update holdings by `holding_id` (all rows have the same keys)."""
        await update_many(self.session, holdings, rows, key="holding_id")

    async def withdraw(self, gone: Sequence[sa.Row[Any]], now: datetime) -> None:
        """Delete these holdings, remembering each one's last version (+1, the version of its withdrawal)."""
        if not gone:
            return
        for part in chunked([row.id for row in gone]):
            await self.session.execute(sa.delete(holdings).where(one_of(self.session, holdings.c.id, part)))
        by_institution: dict[str, list[str]] = defaultdict(list)
        for row in gone:
            by_institution[row.institution].append(row.item_id)
        for institution, item_ids in by_institution.items():
            for part in chunked(item_ids):
                await self.session.execute(sa.delete(holding_tombstones).where(
                    holding_tombstones.c.institution == institution,
                    one_of(self.session, holding_tombstones.c.item_id, part)))
        await self.session.execute(sa.insert(holding_tombstones), [
            {"institution": row.institution, "item_id": row.item_id, "version": row.version + 1,
             "withdrawn_at": now} for row in gone])

    async def forget_tombstones(self, institution: str, item_ids: Collection[str]) -> None:
        """Drop the tombstones of items that came back."""
        for part in chunked(sorted(item_ids)):
            await self.session.execute(sa.delete(holding_tombstones).where(
                holding_tombstones.c.institution == institution,
                one_of(self.session, holding_tombstones.c.item_id, part)))
