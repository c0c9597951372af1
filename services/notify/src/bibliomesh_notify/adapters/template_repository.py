from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.tables import template_overrides

t = template_overrides.c


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def source(self, institution: str, kind: str, channel: str, language: str) -> str | None:
        found = await self.session.scalar(sa.select(t.source).where(
            t.institution == institution, t.message_kind == kind, t.channel == channel, t.language == language))
        return str(found) if found is not None else None

    async def listing(self, institution: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(sa.select(template_overrides).where(t.institution == institution)
                                          .order_by(t.message_kind, t.channel, t.language))
        return [dict(r._mapping) for r in rows]

    async def put(self, key: dict[str, str], source: str, by: str, now: datetime) -> None:
        where = [t[name] == value for name, value in key.items()]
        updated = await self.session.execute(sa.update(template_overrides).where(*where).values(
            source=source, updated_at=now, updated_by=by))
        if not updated.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(sa.insert(template_overrides).values(
                **key, source=source, updated_at=now, updated_by=by))

    async def delete(self, key: dict[str, str]) -> bool:
        result = await self.session.execute(sa.delete(template_overrides).where(
            *[t[name] == value for name, value in key.items()]))
        return bool(result.rowcount)  # type: ignore[attr-defined]
