"""A service whose database stops taking connections answers 503 with `Retry-After` (the caller may try again),
not a 500, and answers normally again once the database is back. PostgreSQL here really refuses: the database is
closed to new connections and the service's open ones are ended, as a failover or a restart of the server does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, Request

from meshkit.bus.embedded import EmbeddedTransport
from meshkit.messaging_tables import add_messaging_tables
from meshkit.runtime import ServiceRuntime
from meshkit.settings import ServiceSettings
from meshkit.web import create_service_app, get_runtime
from tests.support.infra import POSTGRES_ADMIN_DSN, postgres_database

pytestmark = pytest.mark.integration


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


async def admin(statement: str, *args: object) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


@asynccontextmanager
async def probe_service(database: str, tmp_path: Path, router: APIRouter) -> AsyncIterator[httpx.AsyncClient]:
    """A service with `router` on `database`, called in process (an error the app lets out fails the test)."""
    bus = EmbeddedTransport(tmp_path / "bus.sqlite")
    settings = ServiceSettings(service_name="probe", database_url=database, data_dir=tmp_path)
    runtime = ServiceRuntime(name="probe", settings=settings, tables=add_messaging_tables(sa.MetaData()),
                             transport=bus, run_workers=False)
    app = create_service_app(runtime, title="probe", description="A service to probe.", routers=[router])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
            yield client
    finally:
        await runtime.engine.dispose()
        await bus.close()


async def test_a_database_that_refuses_connections_is_a_503_not_a_500(database: str, tmp_path: Path) -> None:
    name = database.rsplit("/", 1)[1]
    router = APIRouter()

    @router.get("/probe/count")
    async def count(request: Request) -> dict[str, int]:
        async with get_runtime(request).engine.connect() as conn:
            return {"one": int(await conn.scalar(sa.text("SELECT 1")))}

    try:
        async with probe_service(database, tmp_path, router) as client:
            assert (await client.get("/probe/count")).json() == {"one": 1}

            await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
            for _ in range(3):  # the pooled connection that was ended, then new ones refused
                refused = await client.get("/probe/count")
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert int(refused.headers["retry-after"]) > 0
                assert "database" in refused.json()["detail"]

            await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert (await client.get("/probe/count")).json() == {"one": 1}
    finally:
        await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


async def test_a_fault_in_a_query_is_still_a_500_not_an_outage(database: str, tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/probe/broken")
    async def broken(request: Request) -> None:
        async with get_runtime(request).engine.connect() as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))

    async with probe_service(database, tmp_path, router) as client:
        answer = await client.get("/probe/broken")
    assert answer.status_code == 500 and "no_such_table" not in answer.text


async def test_text_postgresql_cannot_store_is_the_callers_422_not_a_500(database: str, tmp_path: Path) -> None:
    # SQLite keeps a NUL inside text; PostgreSQL refuses it, so a field no route thought to check became a 500.
    router = APIRouter()

    @router.get("/probe/echo")
    async def echo(request: Request, text: str) -> dict[str, str]:
        async with get_runtime(request).engine.connect() as conn:
            return {"text": str(await conn.scalar(sa.text("SELECT CAST(:text AS text)"), {"text": text}))}

    async with probe_service(database, tmp_path, router) as client:
        assert (await client.get("/probe/echo", params={"text": "fine"})).json() == {"text": "fine"}
        refused = await client.get("/probe/echo", params={"text": "a\x00b"})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert "NUL" in refused.json()["detail"]
