"""A write cancelled half-way must not leave the SQLite file locked.

SQLAlchemy answers a cancellation inside a statement by closing the connection. Python 3.11's `executemany` leaves its
statement unreset, so while anything still holds the cursor (the cancellation's own traceback does) SQLite keeps the
closed connection as a zombie: its transaction stays open and every other writer gets "database is locked" until the
garbage collector frees the cursor. The embedded bus hung this way on a shutdown that cancelled its relay mid-insert.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from meshkit.db import create_engine

metadata = sa.MetaData()
rows_table = sa.Table("rows", metadata, sa.Column("n", sa.Integer, primary_key=True))


async def test_a_write_cancelled_mid_statement_leaves_the_file_writable(tmp_path: Path) -> None:
    path = tmp_path / "cancelled.sqlite"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)

    writer: asyncio.Task[None] | None = None

    def cancel_the_writer(*_: Any) -> None:   # the cancellation lands on the statement's own await
        assert writer is not None
        writer.cancel()

    sa.event.listen(engine.sync_engine, "before_cursor_execute", cancel_the_writer)

    async def write_many() -> None:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(rows_table), [{"n": n} for n in range(50)])   # executemany

    writer = asyncio.create_task(write_many())
    outcome = await asyncio.gather(writer, return_exceptions=True)   # keeps the traceback, and so the cursor, alive
    assert isinstance(outcome[0], asyncio.CancelledError)
    sa.event.remove(engine.sync_engine, "before_cursor_execute", cancel_the_writer)

    other = sqlite3.connect(path, timeout=2)
    try:
        other.execute("INSERT INTO rows (n) VALUES (1000)")   # "database is locked" while the zombie holds it
        other.commit()
        assert other.execute("SELECT n FROM rows").fetchall() == [(1000,)]   # the cancelled insert is rolled back
    finally:
        other.close()
    async with engine.begin() as conn:   # the pool's other connections can write too
        await conn.execute(sa.insert(rows_table).values(n=1001))
    await engine.dispose()
    assert outcome   # held until here on purpose


@pytest.mark.parametrize("statement", ["executemany", "open_cursor"])
def test_closing_a_connection_ends_its_transaction_even_with_a_live_cursor(tmp_path: Path, statement: str) -> None:
    """The connection class the engine uses, on its own: both ways a statement stays unreset."""
    from meshkit.db import RollingBackConnection

    path = tmp_path / "plain.sqlite"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(3)])
    setup.commit()
    setup.close()

    closing = sqlite3.connect(path, factory=RollingBackConnection)
    closing.execute("INSERT INTO t VALUES (100)")
    cursor = closing.cursor()
    if statement == "executemany":
        cursor.executemany("INSERT INTO t VALUES (?)", [(101,), (102,)])
    else:
        cursor.execute("SELECT x FROM t")
        cursor.fetchone()
    closing.close()

    other = sqlite3.connect(path, timeout=1)
    try:
        other.execute("INSERT INTO t VALUES (200)")
        other.commit()
        assert sorted(x for (x,) in other.execute("SELECT x FROM t")) == [0, 1, 2, 200]
    finally:
        other.close()
    assert cursor is not None
