"""Real PostgreSQL and RabbitMQ for tests: each test gets a database and a vhost of its own, removed afterwards.

A server that cannot be reached fails the test with the command that starts it; nothing is skipped, so a green
run always means the guarantees were checked against the real servers.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from meshkit.db import create_engine

POSTGRES_ADMIN_DSN = os.environ.get("BIBLIOMESH_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBITMQ_HOST = os.environ.get("BIBLIOMESH_TEST_RABBITMQ_HOST", "127.0.0.1")
RABBITMQ_PORT = int(os.environ.get("BIBLIOMESH_TEST_RABBITMQ_PORT", "5672"))
RABBITMQ_USER = os.environ.get("BIBLIOMESH_TEST_RABBITMQ_USER", "guest")
RABBITMQ_PASSWORD = os.environ.get("BIBLIOMESH_TEST_RABBITMQ_PASSWORD", "guest")

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_RABBITMQ = "rabbitmq-server -detached"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# --- PostgreSQL -------------------------------------------------------------------------------------------------


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        error = exc
    pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN} ({error!r}).\nStart it with: {START_POSTGRES}",
                pytrace=False)


def database_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    """SQLAlchemy URL of database `name` on the test server."""
    parts = urlsplit(POSTGRES_ADMIN_DSN)
    return urlunsplit((driver, parts.netloc, f"/{name}", parts.query, ""))


async def create_database(prefix: str = "bm_test") -> str:
    """Create an empty, uniquely named database and return its name."""
    name = unique_name(prefix).lower()
    conn = await _admin_connection()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    """Drop `name`, cutting off whatever is still connected to it (a stuck test must not leak databases)."""
    conn = await _admin_connection()
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_database(prefix: str = "bm_test") -> AsyncIterator[str]:
    """A fresh database for the duration of the block; yields its SQLAlchemy (asyncpg) URL."""
    name = await create_database(prefix)
    try:
        yield database_url(name)
    finally:
        await drop_database(name)


@asynccontextmanager
async def database_on(engine: str, tmp_path: Path, prefix: str = "bm_test") -> AsyncIterator[str]:
    """The URL of a fresh database on `engine`: "sqlite" (a file in `tmp_path`) or "postgresql" (created here and
    dropped after the block), for a test parametrized over both."""
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'{prefix}.sqlite'}"
        return
    async with postgres_database(prefix) as url:
        yield url


@asynccontextmanager
async def engine_with(metadata: sa.MetaData, engine: str, tmp_path: Path,
                      prefix: str = "bm_test") -> AsyncIterator[AsyncEngine]:
    """An engine (meshkit's, as the services make theirs) on a fresh database of `engine` (`database_on`) holding
    `metadata`'s tables."""
    async with database_on(engine, tmp_path, prefix) as url:
        created = create_engine(url)
        try:
            async with created.begin() as conn:
                await conn.run_sync(metadata.create_all)
            yield created
        finally:
            await created.dispose()


# --- RabbitMQ ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VirtualHost:
    name: str

    def url(self, reconnect_interval: float = 0.5) -> str:
        """amqp URL for this vhost. aio-pika waits 5 s before reconnecting by default; tests need it sooner."""
        return (f"amqp://{quote(RABBITMQ_USER, safe='')}:{quote(RABBITMQ_PASSWORD, safe='')}@{RABBITMQ_HOST}:"
                f"{RABBITMQ_PORT}/{quote(self.name, safe='')}?reconnect_interval={reconnect_interval}")


def require_rabbitmq() -> None:
    """Fail (never skip) when the broker does not accept connections or `rabbitmqctl` is unavailable."""
    error: OSError | None = None
    try:
        with socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=3):
            pass
    except OSError as exc:
        error = exc
    if error is not None:
        pytest.fail(f"RabbitMQ is not reachable at {RABBITMQ_HOST}:{RABBITMQ_PORT} ({error!r}).\n"
                    f"Start it with: {START_RABBITMQ}", pytrace=False)
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is not on PATH; the RabbitMQ tests create vhosts with it (run them as root on the "
                    f"broker's host). Start the broker with: {START_RABBITMQ}", pytrace=False)


def rabbitmqctl(*args: str) -> str:
    """Run `rabbitmqctl` and return its output; a failure names the command and how to start the broker."""
    error: OSError | subprocess.TimeoutExpired | None = None
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        error = exc
    if error is not None:
        pytest.fail(f"rabbitmqctl {' '.join(args)} could not run ({error!r}). Start the broker with: {START_RABBITMQ}",
                    pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}\n"
                    f"If the broker is down, start it with: {START_RABBITMQ}", pytrace=False)
    return done.stdout


async def create_vhost(prefix: str = "bm-test") -> VirtualHost:
    require_rabbitmq()
    vhost = VirtualHost(unique_name(prefix).replace("_", "-"))
    await asyncio.to_thread(rabbitmqctl, "add_vhost", vhost.name)
    await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", vhost.name, RABBITMQ_USER, ".*", ".*", ".*")
    return vhost


async def delete_vhost(vhost: VirtualHost) -> None:
    """Delete the vhost with its queues and messages (the broker closes its connections first)."""
    await asyncio.to_thread(rabbitmqctl, "delete_vhost", vhost.name)


async def close_connections(vhost: VirtualHost, reason: str = "test") -> int:
    """Force-close every client connection to `vhost`, as a network cut would; return how many were closed."""
    output = await asyncio.to_thread(rabbitmqctl, "close_all_connections", "--vhost", vhost.name, reason)
    found = re.search(r"Closed (\d+) connections?", output)
    if found is None:
        pytest.fail(f"unexpected output from rabbitmqctl close_all_connections: {output!r}", pytrace=False)
    return int(found.group(1))


async def connections(vhost: VirtualHost) -> set[str]:
    """Names (client address -> broker address) of the client connections the broker has open to `vhost`."""
    output = await asyncio.to_thread(rabbitmqctl, "list_connections", "--silent", "vhost", "name")
    rows = (line.split("\t", 1) for line in output.splitlines() if "\t" in line)
    return {name.strip() for host, name in rows if host == vhost.name}


@asynccontextmanager
async def rabbitmq_vhost(prefix: str = "bm-test") -> AsyncIterator[VirtualHost]:
    """A fresh vhost (exchanges, queues, connections of its own) for the duration of the block."""
    vhost = await create_vhost(prefix)
    try:
        yield vhost
    finally:
        await delete_vhost(vhost)


# --- Fixtures (import them into a conftest.py to use them) ------------------------------------------------------


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """SQLAlchemy URL of a database created for this test and dropped after it."""
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def amqp_vhost() -> AsyncIterator[VirtualHost]:
    """A RabbitMQ vhost created for this test and deleted after it; `amqp_vhost.url()` connects to it."""
    async with rabbitmq_vhost() as vhost:
        yield vhost
