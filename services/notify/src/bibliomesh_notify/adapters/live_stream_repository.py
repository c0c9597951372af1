"""The live streams open in every replica, by person: what the cap on a person's streams counts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.tables import live_streams

s = live_streams.c


class LiveStreamRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(self, subject: str, now: datetime, stale_before: datetime) -> int:
        """A new stream of `subject`'s; rows of theirs last seen before `stale_before` (left by a replica that
        stopped) go."""
        await self.session.execute(sa.delete(live_streams).where(s.subject == subject, s.seen_at < stale_before))
        return int((await self.session.execute(sa.insert(live_streams).values(
            subject=subject, opened_at=now, seen_at=now).returning(s.id))).scalar_one())

    async def still_within_cap(self, stream_id: int, subject: str, now: datetime, stale_before: datetime,
                               cap: int) -> bool:
        """Marks the stream seen; False once `cap` newer streams of the same person are open, in any replica."""
        await self.session.execute(sa.update(live_streams).where(s.id == stream_id).values(seen_at=now))
        newer = await self.session.scalar(sa.select(sa.func.count()).select_from(live_streams).where(
            s.subject == subject, s.id > stream_id, s.seen_at >= stale_before))
        return int(newer or 0) < cap

    async def remove(self, stream_id: int) -> None:
        await self.session.execute(sa.delete(live_streams).where(s.id == stream_id))
