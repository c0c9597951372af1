"""Local copies of another service's entities, kept from its events (event-carried state transfer)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert_if_newer(session: AsyncSession, table: sa.Table, key: str, values: dict[str, Any]) -> bool:
    """Store `values` unless the copy already holds the same or a newer `version`; events may arrive late or twice."""
    key_column = table.c[key]
    current = await session.scalar(sa.select(table.c.version).where(key_column == values[key]))
    if current is not None and current >= values["version"]:
        return False
    statement = sa.insert(table) if current is None else sa.update(table).where(key_column == values[key])
    await session.execute(statement.values(**values))
    return True
