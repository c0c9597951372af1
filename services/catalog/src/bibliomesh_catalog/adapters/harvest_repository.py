"""The `harvest_sources` and `harvest_runs` tables: OAI-PMH endpoints, their state and each harvest's outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.leases import Lease
from bibliomesh_catalog.adapters.tables import harvest_runs, harvest_sources

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
SOURCE_LEASE = Lease(harvest_sources, "institution")
COUNTERS = ("pages", "records_read", "created", "updated", "unchanged", "rejected", "deleted")


def is_due(now: datetime) -> sa.ColumnElement[bool]:
    """A source whose schedule came round (when enabled) or for which someone asked for a run."""
    requested = sa.exists().where(harvest_runs.c.institution == harvest_sources.c.institution,
                                  harvest_runs.c.status == QUEUED)
    scheduled = sa.and_(harvest_sources.c.enabled, harvest_sources.c.next_run_at <= now)
    return sa.or_(scheduled, requested)


def targets(version: int) -> sa.ColumnElement[bool]:
    """A source still harvesting what it did at `version` (base URL, set and format unchanged since)."""
    return harvest_sources.c.target_version == version


def next_target() -> sa.ColumnElement[int]:
    """The value of `target_version` once what is harvested changed."""
    return harvest_sources.c.target_version + 1


class HarvestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def source(self, institution: str) -> dict[str, Any] | None:
        row = (await self.session.execute(
            sa.select(harvest_sources).where(harvest_sources.c.institution == institution))).mappings().first()
        return dict(row) if row else None

    async def target_version(self, institution: str) -> int | None:
        return (await self.session.execute(sa.select(harvest_sources.c.target_version).where(
            harvest_sources.c.institution == institution))).scalar_one_or_none()

    async def add_source(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(harvest_sources).values(**values))

    async def update_source(self, institution: str, *conditions: sa.ColumnElement[bool], **values: Any) -> bool:
        """Update the source (only if `conditions` hold); False if no row changed."""
        result = await self.session.execute(sa.update(harvest_sources).where(
            harvest_sources.c.institution == institution, *conditions).values(**values))
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def delete_source(self, institution: str) -> bool:
        result = await self.session.execute(
            sa.delete(harvest_sources).where(harvest_sources.c.institution == institution))
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def due(self, now: datetime, limit: int = 20) -> list[str]:
        """Institutions whose source is due and not held by a live lease, longest waiting first."""
        query = (sa.select(harvest_sources.c.institution)
                 .where(is_due(now), SOURCE_LEASE.free(now))
                 .order_by(harvest_sources.c.next_run_at.nulls_first(), harvest_sources.c.institution).limit(limit))
        return list((await self.session.execute(query)).scalars())

    async def add_run(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(harvest_runs).values(
            **{name: 0 for name in COUNTERS}, errors=[], **values))

    async def run(self, run_id: str) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(harvest_runs).where(harvest_runs.c.id == run_id))
               ).mappings().first()
        return dict(row) if row else None

    async def runs(self, institution: str, limit: int = 20) -> list[dict[str, Any]]:
        query = (sa.select(harvest_runs).where(harvest_runs.c.institution == institution)
                 .order_by(harvest_runs.c.requested_at.desc(), harvest_runs.c.id).limit(limit))
        return [dict(r) for r in (await self.session.execute(query)).mappings()]

    async def oldest_in(self, institution: str, status: str) -> dict[str, Any] | None:
        query = (sa.select(harvest_runs).where(harvest_runs.c.institution == institution,
                                               harvest_runs.c.status == status)
                 .order_by(harvest_runs.c.requested_at, harvest_runs.c.id).limit(1))
        row = (await self.session.execute(query)).mappings().first()
        return dict(row) if row else None

    async def update_run(self, run_id: str, *conditions: sa.ColumnElement[bool], **values: Any) -> None:
        await self.session.execute(sa.update(harvest_runs).where(harvest_runs.c.id == run_id, *conditions)
                                   .values(**values))

    async def fail_running(self, institution: str, reason: str, now: datetime) -> list[str]:
        """Fail the source's runs left `running` by a replica whose lease ran out; returns their ids."""
        ids = list((await self.session.execute(sa.select(harvest_runs.c.id).where(
            harvest_runs.c.institution == institution, harvest_runs.c.status == RUNNING))).scalars())
        if ids:
            await self.session.execute(sa.update(harvest_runs).where(harvest_runs.c.id.in_(ids)).values(
                status=FAILED, failure=reason, finished_at=now))
        return ids

    async def fail_queued(self, institution: str, reason: str, now: datetime) -> None:
        await self.session.execute(sa.update(harvest_runs).where(
            harvest_runs.c.institution == institution, harvest_runs.c.status == QUEUED).values(
            status=FAILED, failure=reason, finished_at=now))
