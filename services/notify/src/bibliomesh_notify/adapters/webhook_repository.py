from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.tables import webhooks
from meshkit.problems import Conflict

w = webhooks.c


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> int:
        result = await self.session.execute(sa.insert(webhooks).values(**values).returning(w.id))
        return int(result.scalar_one())

    async def get(self, webhook_id: int) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(webhooks).where(w.id == webhook_id))).first()
        return dict(row._mapping) if row else None

    async def listing(self, institution: str | None) -> list[dict[str, Any]]:
        query = sa.select(webhooks).order_by(w.id)
        if institution is not None:
            query = query.where(w.institution == institution)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def enabled_for(self, institutions: list[str]) -> list[dict[str, Any]]:
        """On PostgreSQL each webhook found cannot be deleted until this transaction ends, and one being deleted is
        waited for and then not found: what is queued for it here is never left behind by its deletion."""
        query = sa.select(webhooks).where(w.institution.in_(institutions), w.enabled.is_(True)).order_by(w.id)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(read=True, key_share=True)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def update(self, webhook_id: int, version: int, values: dict[str, Any]) -> None:
        """Version-checked: a concurrent change fails loudly instead of being overwritten."""
        result = await self.session.execute(sa.update(webhooks).where(w.id == webhook_id, w.version == version)
                                            .values(version=version + 1, **values))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the webhook changed meanwhile; read it again and retry")

    async def delete(self, webhook_id: int) -> None:
        """Deleting takes the row's lock first: a transaction queueing deliveries for it ends before it goes."""
        await self.session.execute(sa.delete(webhooks).where(w.id == webhook_id))

    async def record_attempt(self, webhook_id: int, succeeded: bool) -> int:
        """Count a failure in a row (or reset the count on success); returns the failures in a row now."""
        value = sa.literal(0) if succeeded else w.consecutive_failures + 1
        result = await self.session.execute(sa.update(webhooks).where(w.id == webhook_id).values(
            consecutive_failures=value).returning(w.consecutive_failures))
        return int(result.scalar_one_or_none() or 0)

    async def disable(self, webhook_id: int, reason: str, now: datetime) -> bool:
        """Disable an enabled webhook; False if it was already disabled (another replica got there first)."""
        result = await self.session.execute(sa.update(webhooks).where(w.id == webhook_id, w.enabled.is_(True))
                                            .values(enabled=False, disabled_reason=reason, updated_at=now,
                                                    version=w.version + 1))
        return bool(result.rowcount)  # type: ignore[attr-defined]
