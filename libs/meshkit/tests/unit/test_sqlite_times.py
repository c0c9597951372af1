"""SQLite keeps times as PostgreSQL's `timestamptz` does: the same instant, in UTC, read back with its offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from meshkit.db import create_engine

BEIJING = timezone(timedelta(hours=8))


async def test_a_time_with_an_offset_is_kept_as_the_same_instant_and_read_back_in_utc(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'times.db'}")
    metadata = sa.MetaData()
    table = sa.Table("times", metadata, sa.Column("at", sa.DateTime(timezone=True)),
                     sa.Column("wall", sa.DateTime()))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(table.insert().values(at=datetime(2026, 1, 1, 12, tzinfo=BEIJING),
                                                     wall=datetime(2026, 1, 1, 12)))
            at, wall = (await conn.execute(sa.select(table.c.at, table.c.wall))).one()
            assert at == datetime(2026, 1, 1, 4, tzinfo=UTC) and at.tzinfo is not None   # 12:00+08:00
            assert wall == datetime(2026, 1, 1, 12) and wall.tzinfo is None   # a column without a time zone: as is
            earlier = await conn.scalar(sa.select(sa.func.count()).where(
                table.c.at < datetime(2026, 1, 1, 5, tzinfo=UTC)))
            assert earlier == 1   # compared as instants
    finally:
        await engine.dispose()
