"""Demand counts and purchase suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import acquisition_settings, acquisition_suggestions, requests


class SuggestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def threshold(self, institution: str) -> tuple[int, int] | None:
        row = (await self.session.execute(sa.select(acquisition_settings).where(
            acquisition_settings.c.institution == institution))).first()
        return (row.threshold, row.window_days) if row else None

    async def set_threshold(self, institution: str, threshold: int, window_days: int) -> None:
        key = acquisition_settings.c.institution == institution
        exists = await self.session.scalar(sa.select(sa.func.count()).select_from(acquisition_settings).where(key))
        values = {"threshold": threshold, "window_days": window_days}
        statement = sa.update(acquisition_settings).where(key) if exists else \
            sa.insert(acquisition_settings).values(institution=institution)
        await self.session.execute(statement.values(**values))

    async def demand(self, institution: str, item_key: str, since: datetime) -> list[str]:
        """Requests by the institution's patrons for the item since `since`, oldest first."""
        rows = await self.session.scalars(sa.select(requests.c.id).where(
            requests.c.borrower == institution, requests.c.item_key == item_key, requests.c.created_at >= since,
            requests.c.origin == "platform").order_by(requests.c.created_at))
        return list(rows)

    async def exists(self, institution: str, item_key: str) -> bool:
        return bool(await self.session.scalar(sa.select(sa.func.count()).select_from(acquisition_suggestions).where(
            acquisition_suggestions.c.institution == institution, acquisition_suggestions.c.item_key == item_key)))

    async def upsert(self, values: dict[str, Any], existed: bool) -> None:
        key = (acquisition_suggestions.c.institution == values["institution"]) & \
            (acquisition_suggestions.c.item_key == values["item_key"])
        statement = sa.update(acquisition_suggestions).where(key) if existed else sa.insert(acquisition_suggestions)
        await self.session.execute(statement.values(**values))

    async def listing(self, institution: str | None) -> list[dict[str, Any]]:
        query = sa.select(acquisition_suggestions).order_by(acquisition_suggestions.c.suggested_at.desc())
        if institution is not None:
            query = query.where(acquisition_suggestions.c.institution == institution)
        return [dict(r._mapping) for r in await self.session.execute(query)]
