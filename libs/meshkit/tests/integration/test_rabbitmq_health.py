"""The bus check behind `/readyz` says "unreachable" while a connection to RabbitMQ is lost and being retried, not
only when none was ever made, and "ok" again once it is back. The broker refuses the reconnection here because the
user lost its permissions on the vhost; its connections are closed as a network cut would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from meshkit.bus.rabbitmq import RabbitMQTransport
from tests.support.infra import RABBITMQ_USER, VirtualHost, close_connections, rabbitmq_vhost, rabbitmqctl
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def vhost() -> AsyncIterator[VirtualHost]:
    async with rabbitmq_vhost() as created:
        yield created


async def healthy(bus: RabbitMQTransport) -> bool:
    try:
        await bus.check()
    except ConnectionError:
        return False
    return True


async def test_a_lost_connection_is_reported_until_it_is_back(vhost: VirtualHost) -> None:
    bus = RabbitMQTransport(vhost.url(reconnect_interval=0.2))
    try:
        await bus.start()
        assert await healthy(bus)

        await asyncio.to_thread(rabbitmqctl, "clear_permissions", "-p", vhost.name, RABBITMQ_USER)
        await close_connections(vhost, "outage")
        await wait_for(lambda: healthy(bus), lambda up: not up, what="the lost connection to be reported")
        await asyncio.sleep(1)  # reconnection attempts are refused meanwhile
        assert not await healthy(bus)

        await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", vhost.name, RABBITMQ_USER, ".*", ".*", ".*")
        await wait_for(lambda: healthy(bus), lambda up: up, what="the connection to come back", timeout=30)
    finally:
        await bus.close()
