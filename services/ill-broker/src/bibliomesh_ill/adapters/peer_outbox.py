"""ISO 18626 messages to peers: queued with the step that caused them, claimed and sent by the delivery worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import peer_messages

# Not yet sent, so still in the queue in order: a failed one keeps its place and holds the ones behind it.
# (Failed ones from before this rule, when they were skipped instead, were settled by migration 0009.)
QUEUED = ("pending", "failed")

class PeerOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: list[dict[str, Any]], now: datetime) -> None:
        if rows:
            await self.session.execute(sa.insert(peer_messages), [
                {**row, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for row in rows])

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """The oldest unsent message of each request to each peer, if it is pending and its turn has come.

        Later ones wait, since order matters to the peer; a failed one keeps them waiting until it is set back
        to pending (redelivered) or given another status (dropped)."""
        first = (sa.select(sa.func.min(peer_messages.c.id))
                 .where(peer_messages.c.status.in_(QUEUED))
                 .group_by(peer_messages.c.request_id, peer_messages.c.peer))
        rows = await self.session.execute(sa.select(peer_messages).where(
            peer_messages.c.id.in_(first), peer_messages.c.status == "pending", peer_messages.c.next_attempt_at <= now,
            sa.or_(peer_messages.c.claimed_until.is_(None), peer_messages.c.claimed_until < now))
            .order_by(peer_messages.c.id).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def claim(self, message_id: int, now: datetime, hold: timedelta) -> bool:
        """Take a message for sending; False if another replica holds it."""
        result = await self.session.execute(sa.update(peer_messages).where(
            peer_messages.c.id == message_id, peer_messages.c.status == "pending",
            sa.or_(peer_messages.c.claimed_until.is_(None), peer_messages.c.claimed_until < now))
            .values(claimed_until=now + hold))
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def finish(self, message_id: int, values: dict[str, Any]) -> None:
        await self.session.execute(sa.update(peer_messages).where(peer_messages.c.id == message_id)
                                   .values(claimed_until=None, **values))

    async def settle_failed(self, message_id: int, values: dict[str, Any]) -> bool:
        """Change a failed message (set it back to pending, or drop it); False if it is not failed (any more)."""
        result = await self.session.execute(sa.update(peer_messages).where(
            peer_messages.c.id == message_id, peer_messages.c.status == "failed").values(**values))
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def status(self, message_id: int) -> str:
        """The message's status now, which another transaction may have changed since this one read it."""
        result = await self.session.execute(sa.select(peer_messages.c.status).where(peer_messages.c.id == message_id))
        return str(result.scalar_one())

    async def for_request(self, request_id: str) -> list[dict[str, Any]]:
        """Every message queued about the request, oldest first."""
        rows = await self.session.execute(sa.select(peer_messages).where(peer_messages.c.request_id == request_id)
                                          .order_by(peer_messages.c.id))
        return [dict(r._mapping) for r in rows]
