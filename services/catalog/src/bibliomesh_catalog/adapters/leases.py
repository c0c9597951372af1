"""Row leases: which replica runs a background job, until when, renewed by a heartbeat.

A lease is two columns on the job's row, `lease_owner` and `lease_expires_at`. It is claimed with one conditional
UPDATE (free, expired, or already ours), so of two replicas racing for it exactly one sees its row updated, on
SQLite (one writer at a time) as on PostgreSQL (the second UPDATE waits for the first and re-checks the row).
While the job runs, `heartbeat` renews it every third of its length; work that must not be done twice also
checks `held_by` in its own transaction, so a replica that stalled past its lease cannot commit over the one that
took the job over. Expiry uses each replica's clock: keep the lease far longer than their clock skew.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from meshkit.waiting import raise_if_cancelling

log = logging.getLogger(__name__)


def new_owner_id() -> str:
    """A name for this process among the replicas: host, pid and a random suffix (pids repeat in containers)."""
    return f"{socket.gethostname()[:60]}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Lease:
    """The lease columns of `table`, whose rows are found by `key`."""

    table: sa.Table
    key: str

    @property
    def _owner(self) -> sa.Column[Any]:
        return self.table.c.lease_owner

    @property
    def _expires(self) -> sa.Column[Any]:
        return self.table.c.lease_expires_at

    def free(self, now: datetime) -> sa.ColumnElement[bool]:
        """Rows nobody holds: never claimed, released, or whose heartbeat stopped before `now`."""
        return sa.or_(self._owner.is_(None), self._expires.is_(None), self._expires < now)

    def held_by(self, owner: str) -> sa.ColumnElement[bool]:
        return self._owner == owner

    def values(self, owner: str, seconds: float, now: datetime | None = None) -> dict[str, Any]:
        """Column values of a lease held by `owner` from `now` (for an INSERT that starts a job)."""
        return {"lease_owner": owner, "lease_expires_at": (now or datetime.now(UTC)) + timedelta(seconds=seconds)}

    async def claim(self, session: AsyncSession, key: Any, owner: str, seconds: float,
                    *conditions: sa.ColumnElement[bool]) -> bool:
        """Take the row's lease if it is free (and `conditions` hold); True if we hold it now. A lease we hold
        already is not free either: one replica never runs the same job twice at once."""
        now = datetime.now(UTC)
        result = await session.execute(
            sa.update(self.table).where(self.table.c[self.key] == key, self.free(now), *conditions)
            .values(**self.values(owner, seconds, now)))
        return _count(result) == 1

    async def renew(self, session: AsyncSession, key: Any, owner: str, seconds: float) -> bool:
        """Push our lease's expiry on; False if the row is gone or someone else holds it now."""
        result = await session.execute(
            sa.update(self.table).where(self.table.c[self.key] == key, self.held_by(owner))
            .values(lease_expires_at=datetime.now(UTC) + timedelta(seconds=seconds)))
        return _count(result) == 1

    async def release(self, session: AsyncSession, key: Any, owner: str) -> None:
        await session.execute(sa.update(self.table).where(self.table.c[self.key] == key, self.held_by(owner))
                              .values(lease_owner=None, lease_expires_at=None))


class LeaseLost(Exception):
    """Another replica holds the job's lease now (ours ran out): stop without writing anything more."""


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class Heartbeat:
    """Set by `heartbeat`: whether the lease was lost while the job ran."""

    def __init__(self) -> None:
        self.lost = False


@asynccontextmanager
async def heartbeat(sessions: async_sessionmaker[AsyncSession], lease: Lease, key: Any, owner: str,
                    seconds: float) -> AsyncIterator[Heartbeat]:
    """Renew the lease every `seconds / 3` (each in its own transaction) for as long as the block runs."""
    state = Heartbeat()

    async def beat() -> None:
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                async with sessions() as session, session.begin():
                    renewed = await lease.renew(session, key, owner, seconds)
            except Exception as exc:  # a missed beat is retried; the lease outlives two of them
                raise_if_cancelling(exc)
                log.warning("lease heartbeat failed", extra={"table": lease.table.name, "error": repr(exc)})
                continue
            if not renewed:
                state.lost = True
                log.warning("lease lost", extra={"table": lease.table.name, "key": str(key)})
                return

    task = asyncio.create_task(beat(), name=f"lease-heartbeat-{lease.table.name}-{key}")
    try:
        yield state
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
