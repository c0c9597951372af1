"""The `imports` table: one row per bulk import job and its progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.leases import Lease
from bibliomesh_catalog.adapters.tables import imports

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
IMPORT_LEASE = Lease(imports, "id")


class ImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(imports).values(**values))

    async def get(self, job_id: str) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(imports).where(imports.c.id == job_id))).mappings().first()
        return dict(row) if row else None

    async def list_for(self, institution: str, limit: int = 100) -> list[dict[str, Any]]:
        query = (sa.select(imports).where(imports.c.institution == institution)
                 .order_by(imports.c.started_at.desc()).limit(limit))
        return [dict(r) for r in (await self.session.execute(query)).mappings()]

    async def update(self, job_id: str, **values: Any) -> None:
        await self.session.execute(sa.update(imports).where(imports.c.id == job_id).values(**values))

    async def update_held(self, job_id: str, owner: str, **values: Any) -> bool:
        """Update the job only while `owner` holds its lease and it runs; False if not (another replica failed
        it after our heartbeat stopped)."""
        result = await self.session.execute(sa.update(imports).where(
            imports.c.id == job_id, imports.c.status == RUNNING, IMPORT_LEASE.held_by(owner)).values(**values))
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def fail_running(self, reason: str, now: datetime, keep: set[str] | frozenset[str] = frozenset()
                           ) -> list[str]:
        """Mark every `running` job whose lease ran out (except those in `keep`) failed with `reason`; returns
        their ids. A job whose heartbeat is alive, on this replica or another, is left alone."""
        query = sa.select(imports.c.id, imports.c.errors).where(imports.c.status == RUNNING, IMPORT_LEASE.free(now))
        failed: list[str] = []
        for job_id, errors in (await self.session.execute(query)).all():
            if job_id in keep:
                continue
            result = await self.session.execute(
                sa.update(imports).where(imports.c.id == job_id, imports.c.status == RUNNING, IMPORT_LEASE.free(now))
                .values(status=FAILED, finished_at=now, lease_owner=None, lease_expires_at=None,
                        errors=[*(errors or []), {"position": None, "local_id": None, "reason": reason}]))
            if getattr(result, "rowcount", 0):
                failed.append(job_id)
        return failed
