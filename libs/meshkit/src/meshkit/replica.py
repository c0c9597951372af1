"""Local copies of another service's entities, kept from its events (event-carried state transfer)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from meshkit.db import conflict_insert


async def upsert_if_newer(session: AsyncSession, table: sa.Table, key: str, values: dict[str, Any]) -> bool:
    """Store `values` unless the copy already holds the same or a newer `version`; events may arrive late or twice.

    One statement, so the version comparison holds against concurrent consumers too: with a read and then a write,
    an older event waiting on the row lock overwrote the newer copy committed meanwhile (READ COMMITTED), and two
    first copies of one entity collided on its key. `key` must be the table's primary key."""
    insert = conflict_insert(session, table).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={name: insert.excluded[name] for name in values if name != key},
        where=table.c.version < insert.excluded.version,
    ).returning(table.c[key])
    return (await session.execute(statement)).first() is not None
