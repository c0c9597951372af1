"""Queued e-mails and webhook posts: claimed with a lease, so two replicas never send the same one at once.

Statuses: `pending` (waiting for `next_attempt_at`), `sending` (claimed until `lease_until`; a lease that ran out
means the sender died, and the delivery may be claimed again), `sent`, `failed` (given up), `digest` (waits for
the recipient's daily digest), `digested` (went out in one), `held` (its webhook is disabled).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.tables import deliveries
from meshkit.db import insert_new

d = deliveries.c

Webhook = Mapping[str, Any]
"""A webhook's row: its deliveries are those naming its id AND its institution (one of another institution naming
the id is never its own, however it came to name it)."""


def _of(webhook: Webhook) -> sa.ColumnElement[bool]:
    return sa.and_(d.channel == "webhook", d.webhook_id == webhook["id"], d.institution == webhook["institution"])


def _claimable(channel: str, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(d.channel == channel, sa.or_(
        sa.and_(d.status == "pending", d.next_attempt_at <= now),
        sa.and_(d.status == "sending", d.lease_until < now)))


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: list[dict[str, Any]]) -> int:
        return await insert_new(self.session, deliveries, rows)

    async def claim(self, channel: str, now: datetime, limit: int, lease: timedelta, owner: str
                    ) -> list[dict[str, Any]]:
        """Take up to `limit` due deliveries of `channel` for `owner` until `now + lease`."""
        candidates = sa.select(d.id).where(_claimable(channel, now)).order_by(d.next_attempt_at, d.id).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(await self.session.scalars(candidates))
        if not ids:
            return []
        await self.session.execute(sa.update(deliveries).where(d.id.in_(ids), _claimable(channel, now)).values(
            status="sending", lease_until=now + lease, lease_owner=owner))
        rows = await self.session.execute(sa.select(deliveries).where(
            d.id.in_(ids), d.lease_owner == owner, d.status == "sending").order_by(d.id))
        return [dict(r._mapping) for r in rows]

    async def finish(self, delivery_id: int, owner: str, values: dict[str, Any]) -> bool:
        """Record the outcome, if the lease is still ours (a replica that took over after our lease ran out wins)."""
        result = await self.session.execute(sa.update(deliveries).where(
            d.id == delivery_id, d.lease_owner == owner, d.status == "sending").values(
            lease_until=None, lease_owner=None, **values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def recent_to(self, address: str, since: datetime, owner: str) -> list[datetime]:
        """When e-mails to `address` went out since `since`, plus (as `since`) those other replicas are sending."""
        rows = await self.session.execute(sa.select(d.sent_at, d.status, d.lease_owner).where(
            d.address == address, d.channel == "email", sa.or_(
                sa.and_(d.status == "sent", d.sent_at > since),
                sa.and_(d.status == "sending", d.lease_owner != owner))))
        return [r.sent_at if r.status == "sent" else since for r in rows]

    async def for_webhook(self, webhook: Webhook, limit: int, before: int | None) -> list[dict[str, Any]]:
        query = sa.select(deliveries).where(_of(webhook))
        if before is not None:
            query = query.where(d.id < before)
        rows = await self.session.execute(query.order_by(d.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def of_webhook(self, webhook: Webhook, delivery_id: int) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(deliveries).where(_of(webhook), d.id == delivery_id))).first()
        return dict(row._mapping) if row else None

    async def requeue(self, webhook: Webhook, delivery_id: int, now: datetime) -> None:
        await self.session.execute(sa.update(deliveries).where(_of(webhook), d.id == delivery_id).values(
            status="pending", next_attempt_at=now, attempts=0, lease_until=None, lease_owner=None))

    async def hold_webhook(self, webhook: Webhook) -> None:
        await self.session.execute(sa.update(deliveries).where(_of(webhook), d.status == "pending")
                                   .values(status="held"))

    async def release_webhook(self, webhook: Webhook, now: datetime) -> None:
        await self.session.execute(sa.update(deliveries).where(_of(webhook), d.status == "held")
                                   .values(status="pending", next_attempt_at=now))

    async def forget_webhook(self, webhook_id: int) -> None:
        """Every delivery naming the webhook, whatever its institution: none may outlive it."""
        await self.session.execute(sa.delete(deliveries).where(d.webhook_id == webhook_id))

    async def discard(self, delivery_id: int, owner: str) -> bool:
        """Drop a claimed delivery that has no webhook of its institution to go to (if the lease is still ours)."""
        result = await self.session.execute(sa.delete(deliveries).where(
            d.id == delivery_id, d.lease_owner == owner, d.status == "sending"))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def waiting_for_digest(self, limit: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(sa.select(deliveries).where(d.status == "digest")
                                          .order_by(d.recipient, d.id).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def mark_digested(self, ids: list[int], now: datetime) -> None:
        await self.session.execute(sa.update(deliveries).where(d.id.in_(ids), d.status == "digest").values(
            status="digested", sent_at=now))

    async def counts(self) -> dict[tuple[str, str], int]:
        rows = await self.session.execute(sa.select(d.channel, d.status, sa.func.count()).group_by(
            d.channel, d.status))
        return {(r[0], r[1]): int(r[2]) for r in rows}
