"""The `imports` table: one row per bulk import job and its progress."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.tables import imports

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"


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

    async def fail_running(self, reason: str, finished_at: Any, keep: set[str] | frozenset[str] = frozenset()
                           ) -> list[str]:
        """Mark every `running` job (except those in `keep`) failed with `reason`; returns their ids."""
        query = sa.select(imports.c.id, imports.c.errors).where(imports.c.status == RUNNING)
        failed: list[str] = []
        for job_id, errors in (await self.session.execute(query)).all():
            if job_id in keep:
                continue
            await self.update(job_id, status=FAILED, finished_at=finished_at,
                              errors=[*(errors or []), {"position": None, "local_id": None, "reason": reason}])
            failed.append(job_id)
        return failed
