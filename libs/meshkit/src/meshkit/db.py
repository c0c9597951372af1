"""The async engine and sessions: SQLite (embedded) or PostgreSQL (distributed) from one URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30, "factory": RollingBackConnection}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        engine.dialect.colspecs = {**engine.dialect.colspecs, DateTime: UtcSqliteDateTime}
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class RollingBackConnection(sqlite3.Connection):
    """Ends its transaction before it closes. SQLAlchemy closes a connection whose statement was cancelled, and
    SQLite keeps a closed connection whose statement is still unreset (Python 3.11's `executemany` leaves it so, and
    the cancellation's traceback keeps the cursor alive) with its transaction open: every other writer of the file
    was locked out until the garbage collector freed that cursor."""

    def close(self) -> None:
        try:
            if self.in_transaction:
                self.rollback()
        finally:
            super().close()


class UtcSqliteDateTime(SQLITE_DATETIME):
    """SQLite keeps no offset: a `DateTime(timezone=True)` value is written in UTC and read back as UTC, as
    PostgreSQL's `timestamptz` does. SQLAlchemy's own SQLite type writes the wall-clock time of whatever offset a
    value has (a peer's 12:00+08:00 became 12:00 UTC) and reads values back without one."""

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        process = super().bind_processor(dialect)
        if not self.timezone:
            return process

        def in_utc(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return process(value) if process else value

        return in_utc

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        process = super().result_processor(dialect, coltype)
        if not self.timezone:
            return process

        def as_utc(value: Any) -> Any:
            value = process(value) if process else value
            return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value

        return as_utc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while the relay or a consumer writes; synchronous=FULL keeps every commit durable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def lock_until_commit(session: AsyncSession, key: int, table: sa.Table) -> None:
    """Serialize the transactions that take the same `key` until each ends (so two writers never both decide on what
    they read before the other wrote). PostgreSQL: a transaction-level advisory lock on `key`; SQLite, one writer at a
    time anyway: a no-op update of `table`, which takes the database's write lock before anything is read."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    else:
        column = next(iter(table.primary_key.columns))
        await session.execute(sa.update(table).where(sa.false()).values({column.name: column}))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def conflict_insert(session: AsyncSession, table: sa.Table) -> Any:
    """`INSERT` into `table` that takes the `ON CONFLICT` clauses of the session's database (PostgreSQL or SQLite):
    how a repeated key becomes a no-op or an update in one statement instead of an error."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table)


async def inserted_keys(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]],
                        key: sa.Column[Any]) -> set[Any]:
    """Insert, in one statement, the rows whose unique keys are new; returns the `key` values of those inserted (a
    value repeated within `rows` is inserted once)."""
    if not rows:
        return set()
    result = await session.execute(
        conflict_insert(session, table).values(rows).on_conflict_do_nothing().returning(key))
    return set(result.scalars())


async def insert_new(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose unique keys are new; returns how many were inserted."""
    inserted = 0
    for row in rows:
        result = await session.execute(conflict_insert(session, table).values(**row).on_conflict_do_nothing())
        inserted += result.rowcount  # type: ignore[attr-defined]
    return inserted
