"""Alembic, driven the same way by every service: `env.py` is three lines, upgrades run from code or the CLI."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, make_url

from meshkit.db import create_engine, is_sqlite


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = url
    return config


_alembic_lock = threading.Lock()


def upgrade(script_location: Path, url: str, revision: str = "head") -> None:
    """Blocking; runs its own event loop, so call it from a thread when one is already running."""
    # Alembic keeps its migration context in module globals: one upgrade at a time per process.
    with _alembic_lock:
        command.upgrade(alembic_config(script_location, url), revision)


async def upgrade_in_thread(script_location: Path, url: str) -> None:
    await asyncio.to_thread(upgrade, script_location, url)


def run_env(target_metadata: sa.MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    from alembic import context

    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=is_sqlite(url))
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=is_sqlite(url), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(online())


async def ensure_database(url: str) -> None:
    """Create the service's PostgreSQL database if it does not exist (SQLite files create themselves)."""
    if is_sqlite(url):
        return
    target = make_url(url)
    maintenance = create_engine(target.set(database="postgres").render_as_string(hide_password=False),
                                isolation_level="AUTOCOMMIT")
    try:
        async with maintenance.connect() as conn:
            exists = await conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": target.database})
            if not exists:
                await conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        await maintenance.dispose()
