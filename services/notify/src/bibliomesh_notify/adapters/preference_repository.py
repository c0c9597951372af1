from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.tables import preferences


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, owner: str) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(preferences).where(preferences.c.owner == owner))).first()
        return dict(row._mapping) if row else None

    async def many(self, owners: list[str]) -> dict[str, dict[str, Any]]:
        if not owners:
            return {}
        rows = await self.session.execute(sa.select(preferences).where(preferences.c.owner.in_(owners)))
        return {r.owner: dict(r._mapping) for r in rows}

    async def put(self, owner: str, channels: dict[str, list[str]], digest: bool, now: datetime) -> None:
        values = {"channels": channels, "digest": digest, "updated_at": now}
        updated = await self.session.execute(sa.update(preferences).where(preferences.c.owner == owner)
                                             .values(**values))
        if not updated.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(sa.insert(preferences).values(owner=owner, **values))
