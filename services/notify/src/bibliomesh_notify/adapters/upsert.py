"""INSERT ... ON CONFLICT DO NOTHING on both engines: how a repeated key becomes a no-op instead of an error."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_new(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose unique keys are new; returns how many were inserted."""
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = 0
    for row in rows:
        result = await session.execute(insert(table).values(**row).on_conflict_do_nothing())
        inserted += result.rowcount  # type: ignore[attr-defined]
    return inserted
