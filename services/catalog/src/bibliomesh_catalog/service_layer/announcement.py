"""Announcing the catalogue's holdings again: every live item published as `catalog.holdings.changed` once more, a
version newer, so that the broker rebuilds its copy of who holds what (after it was restored from a backup, or to
fill a field its copy predates, such as the titles its requests are named by)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from bibliomesh_catalog.adapters.record_repository import RecordRepository, lock_for_writing
from bibliomesh_catalog.adapters.tables import records
from bibliomesh_catalog.service_layer import holdings
from meshkit.unit_of_work import UnitOfWork

BATCH = 500


async def announce_holdings(new_unit_of_work: Callable[[], UnitOfWork], institution: str | None = None,
                            progress: Callable[[int], None] | None = None) -> int:
    """Re-announce the items of every live record (of `institution`, or all), a batch of records per transaction,
    each under the catalogue's write lock like any ingest; returns how many records were announced."""
    after, announced = 0, 0
    while True:
        async with new_unit_of_work() as uow:
            await lock_for_writing(uow.session)
            query = (sa.select(records.c.id).where(records.c.id > after, records.c.deleted_at.is_(None))
                     .order_by(records.c.id).limit(BATCH))
            if institution is not None:
                query = query.where(records.c.institution == institution)
            ids = list(await uow.session.scalars(query))
            if not ids:
                return announced
            await holdings.reannounce(uow, datetime.now(UTC), await RecordRepository(uow.session).load(ids))
            await uow.commit()
        after, announced = ids[-1], announced + len(ids)
        if progress is not None:
            progress(announced)
