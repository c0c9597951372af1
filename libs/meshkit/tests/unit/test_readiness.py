"""A service is ready while its database answers. An event bus it cannot reach leaves it answering (its events
wait in the outbox), reported as degraded; a database it cannot reach makes it unready."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa

from meshkit.bus import Transport
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.bus.rabbitmq import RabbitMQTransport
from meshkit.messaging_tables import add_messaging_tables
from meshkit.runtime import ServiceRuntime
from meshkit.settings import ServiceSettings
from meshkit.web import create_service_app

# A broker and a database that cannot be reached: nothing listens on port 1.
NOTHING_LISTENS = "amqp://guest:guest@127.0.0.1:1/"
NO_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/probe"


async def _readyz(settings: ServiceSettings, transport: Transport) -> httpx.Response:
    runtime = ServiceRuntime(name="probe", settings=settings, tables=add_messaging_tables(sa.MetaData()),
                             transport=transport, run_workers=False)
    app = create_service_app(runtime, title="probe", description="A service to probe.", routers=[])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
            return await client.get("/readyz")
    finally:
        await runtime.engine.dispose()


async def test_a_service_with_its_database_and_bus_is_ready(tmp_path: Path) -> None:
    bus = EmbeddedTransport(tmp_path / "bus.sqlite")
    try:
        answer = await _readyz(ServiceSettings(service_name="probe", data_dir=tmp_path), bus)
    finally:
        await bus.close()

    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "service": "probe", "checks": {"database": "ok", "bus": "ok"}}


async def test_a_service_that_cannot_reach_its_bus_stays_in_service_as_degraded(tmp_path: Path) -> None:
    answer = await _readyz(ServiceSettings(service_name="probe", data_dir=tmp_path),
                           RabbitMQTransport(NOTHING_LISTENS))

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["bus"].startswith("unreachable")
    assert "outbox" in body["detail"]


async def test_a_service_that_cannot_reach_its_database_is_unready(tmp_path: Path) -> None:
    answer = await _readyz(ServiceSettings(service_name="probe", data_dir=tmp_path, database_url=NO_DATABASE),
                           RabbitMQTransport(NOTHING_LISTENS))

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["checks"]["database"].startswith("unreachable")
    assert "database" in body["detail"]
