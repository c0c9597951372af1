"""Carrying a suspension or reinstatement into the search documents, a bounded batch at a time.

The directory consumer only records the request (`availability_refreshes`, in the transaction that stores the
new status). A worker then recomputes the institution's clusters in batches (`availability.BATCH`), each in a
transaction of its own that takes the catalogue's write lock, recomputes, moves the cursor and commits, so
imports and record writes get the lock between batches instead of waiting for the whole library. Every batch
recomputes from the tables as they are, so repeating one is harmless, and the cursor is committed with it: after
a restart the work resumes where the last batch ended. Ingest indexes with the new status once it is committed,
so the clusters written meanwhile are right whichever side of the cursor they are on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.availability_refreshes import AvailabilityRefreshes
from bibliomesh_catalog.adapters.record_repository import lock_for_writing
from bibliomesh_catalog.adapters.search import availability
from bibliomesh_catalog.adapters.search_index import refresh_availability
from meshkit.runtime import ServiceRuntime
from meshkit.unit_of_work import UnitOfWork
from meshkit.waiting import wait_until_set

log = logging.getLogger(__name__)

WRITERS_TURN_SECONDS = 0.01
"""Pause between batches. PostgreSQL queues lock waiters, but a SQLite writer waiting for the lock only retries
now and then (its busy handler sleeps), so without a gap the next batch would take the lock first every time."""
POLL_SECONDS = 30.0
"""How often the worker looks for refreshes left by a replica that stopped (its own consumer wakes it at once)."""


async def refresh_next_batch(session: AsyncSession) -> bool:
    """Recompute one batch of the oldest pending refresh in the caller's transaction, which the caller commits;
    False when nothing is pending."""
    await lock_for_writing(session)
    refreshes = AvailabilityRefreshes(session)
    pending = await refreshes.oldest()
    if pending is None:
        return False
    size = availability.BATCH
    batch = await availability.clusters_held_by(session, pending.institution, pending.after_cluster_id, size)
    changed = await refresh_availability(session, batch)
    if len(batch) < size:
        await refreshes.finish(pending.institution)
        log.info("holder availability refreshed", extra={"institution": pending.institution})
    else:
        await refreshes.advance(pending.institution, batch[-1])
    log.debug("availability batch", extra={"institution": pending.institution, "clusters": len(batch),
                                           "documents_changed": changed})
    return True


async def refresh_pending(new_unit_of_work: Callable[[], UnitOfWork]) -> int:
    """Work through every pending refresh, one committed batch at a time; returns the batches done."""
    batches = 0
    while True:
        async with new_unit_of_work() as uow:
            if not await refresh_next_batch(uow.session):
                return batches
            await uow.commit()
        batches += 1
        await writers_turn()


async def writers_turn() -> None:
    await asyncio.sleep(WRITERS_TURN_SECONDS)


class AvailabilityRefresher:
    """The worker, and the bell the directory consumer rings when it recorded a request. The bell may ring before
    the consumer commits: the worker's first batch waits for the write lock the consumer holds, then sees it."""

    def __init__(self) -> None:
        self._bell = asyncio.Event()

    def wake(self) -> None:
        self._bell.set()

    async def refresh_forever(self, runtime: ServiceRuntime) -> None:
        """The meshkit worker: pending refreshes at start (a restart resumes them), then whenever woken."""
        while True:
            self._bell.clear()
            await refresh_pending(runtime.unit_of_work)
            await wait_until_set(self._bell, POLL_SECONDS)
