"""In-app notifications and their per-recipient sequence.

The sequence number of a recipient's notification is taken from a counter row updated in the same transaction.
The row lock makes concurrent writers for one recipient (two replicas consuming at once) commit in sequence
order, so a stream that has sent number n has already seen every committed number below it.

Every read and read mark goes through `_shown`: a notification held for a patron not yet confirmed
(`unconfirmed_patron_of`) does not exist for its recipient until `release` gives it a new number. Whoever holds
or releases a recipient's notifications holds that same row lock (`lock`), so a release cannot miss a held row
committed concurrently, nor release one twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.tables import notifications, people, recipient_sequences
from meshkit.db import conflict_insert, insert_new

PUBLIC = (notifications.c.id, notifications.c.seq, notifications.c.message_kind, notifications.c.event_type,
          notifications.c.institution, notifications.c.request_id, notifications.c.title, notifications.c.body,
          notifications.c.created_at, notifications.c.read_at)


def _shown(recipient: str) -> tuple[sa.ColumnElement[bool], ...]:
    return notifications.c.recipient == recipient, notifications.c.unconfirmed_patron_of.is_(None)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: list[dict[str, Any]]) -> int:
        """Store new notifications (those whose (recipient, dedup_key) exist already are skipped)."""
        added = 0
        for row in sorted(rows, key=lambda r: r["recipient"]):  # one lock order: no deadlock between replicas
            if await self._exists(row["recipient"], row["dedup_key"]):
                continue
            added += await insert_new(self.session, notifications,
                                      [{**row, "seq": await self._next_seq(row["recipient"])}])
        return added

    async def _exists(self, recipient: str, dedup_key: str) -> bool:
        found = await self.session.scalar(sa.select(notifications.c.id).where(
            notifications.c.recipient == recipient, notifications.c.dedup_key == dedup_key))
        return found is not None

    async def lock(self, recipient: str) -> None:
        """Take `recipient`'s counter row lock (creating the row) until the transaction ends, as `_next_seq` does:
        what is read after it includes every notification stored for the recipient by a transaction that held it."""
        await self._counter(recipient, first=0, step=0)

    async def _next_seq(self, recipient: str) -> int:
        return await self._counter(recipient, first=1, step=1)

    async def _counter(self, recipient: str, *, first: int, step: int) -> int:
        insert = conflict_insert(self.session, recipient_sequences).values(recipient=recipient, last_seq=first)
        statement = insert.on_conflict_do_update(
            index_elements=[recipient_sequences.c.recipient],
            set_={"last_seq": recipient_sequences.c.last_seq + step})
        return int((await self.session.execute(statement.returning(recipient_sequences.c.last_seq))).scalar_one())

    async def page(self, recipient: str, limit: int, before: int | None) -> list[dict[str, Any]]:
        query = sa.select(*PUBLIC).where(*_shown(recipient))
        if before is not None:
            query = query.where(notifications.c.seq < before)
        rows = await self.session.execute(query.order_by(notifications.c.seq.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def unread(self, recipient: str) -> int:
        return int(await self.session.scalar(sa.select(sa.func.count()).select_from(notifications).where(
            *_shown(recipient), notifications.c.read_at.is_(None))) or 0)

    async def after(self, recipient: str, seq: int, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.session.execute(sa.select(*PUBLIC).where(
            *_shown(recipient), notifications.c.seq > seq)
            .order_by(notifications.c.seq).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def last_seq(self, recipient: str) -> int:
        return int(await self.session.scalar(sa.select(recipient_sequences.c.last_seq).where(
            recipient_sequences.c.recipient == recipient)) or 0)

    async def mark_read(self, recipient: str, notification_id: int | None, now: datetime) -> int:
        """Mark one (or, with None, every) unread notification of `recipient` read; returns how many changed."""
        where = [*_shown(recipient), notifications.c.read_at.is_(None)]
        if notification_id is not None:
            where.append(notifications.c.id == notification_id)
        result = await self.session.execute(sa.update(notifications).where(*where).values(read_at=now))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, recipient: str, notification_id: int) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(*PUBLIC).where(
            *_shown(recipient), notifications.c.id == notification_id))).first()
        return dict(row._mapping) if row else None

    async def held(self, recipient: str) -> list[dict[str, Any]]:
        """`recipient`'s notifications not yet shown: id and the borrowing library each was addressed for."""
        rows = await self.session.execute(sa.select(
            notifications.c.id, notifications.c.unconfirmed_patron_of.label("borrower")).where(
            notifications.c.recipient == recipient, notifications.c.unconfirmed_patron_of.is_not(None))
            .order_by(notifications.c.seq))
        return [dict(r._mapping) for r in rows]

    async def held_recipients_concerning(self, institution: str) -> list[str]:
        """Announced people with held notifications whose borrowing library, or their own, is `institution`."""
        return list(await self.session.scalars(
            sa.select(notifications.c.recipient).distinct()
            .join(people, people.c.subject == notifications.c.recipient)
            .where(notifications.c.unconfirmed_patron_of.is_not(None),
                   sa.or_(notifications.c.unconfirmed_patron_of == institution, people.c.institution == institution))
            .order_by(notifications.c.recipient)))

    async def release(self, recipient: str, ids: Sequence[int]) -> int:
        """Show those of `ids` still held, renumbered after the recipient's latest (in the order given), so a stream
        already past their old numbers still sends them; returns how many. One already shown keeps its number: a
        new one would make a live stream send it again."""
        if not ids:
            return 0
        await self.lock(recipient)
        claimed = set((await self.session.execute(sa.update(notifications).where(
            notifications.c.recipient == recipient, notifications.c.id.in_(ids),
            notifications.c.unconfirmed_patron_of.is_not(None))
            .values(unconfirmed_patron_of=None).returning(notifications.c.id))).scalars())
        for notification_id in ids:
            if notification_id in claimed:
                await self.session.execute(sa.update(notifications).where(notifications.c.id == notification_id)
                                           .values(seq=await self._next_seq(recipient)))
        return len(claimed)
