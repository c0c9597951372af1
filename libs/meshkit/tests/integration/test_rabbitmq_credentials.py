"""A service reaches the broker with the credentials the Messaging Topology Operator generates: base64, so `/`, `+`
and `=` occur, and given apart from BUS_URL.

Runs against the real broker, with a user and a vhost of its own, both removed afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from meshkit.bus import Delivery, OutgoingMessage, RetryPolicy, Subscription
from meshkit.runtime import build_transport
from meshkit.settings import ServiceSettings
from tests.support.infra import RABBITMQ_HOST, RABBITMQ_PORT, VirtualHost, rabbitmq_vhost, rabbitmqctl
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

SUBSCRIPTION = Subscription("reader.directory", ("directory.#",))


@pytest.fixture
async def vhost() -> AsyncIterator[VirtualHost]:
    async with rabbitmq_vhost() as created:
        yield created


@pytest.fixture
async def generated_user(vhost: VirtualHost) -> AsyncIterator[tuple[str, str]]:
    """A user of `vhost` named and passworded like the operator's, with every character that breaks a raw URL."""
    name = f"bm/test+{uuid.uuid4().hex[:8]}="
    password = f"pa/ss+{uuid.uuid4().hex[:8]}=="
    await asyncio.to_thread(rabbitmqctl, "add_user", name, password)
    try:
        await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", vhost.name, name, ".*", ".*", ".*")
        yield name, password
    finally:
        await asyncio.to_thread(rabbitmqctl, "delete_user", name)


async def test_a_service_connects_publishes_and_consumes_with_generated_credentials(
        vhost: VirtualHost, generated_user: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    name, password = generated_user
    monkeypatch.setenv("BUS_USERNAME", name)
    monkeypatch.setenv("BUS_PASSWORD", password)
    settings = ServiceSettings(bus_url=f"amqp://{RABBITMQ_HOST}:{RABBITMQ_PORT}/{quote(vhost.name, safe='')}")
    bus = build_transport(settings)
    received: list[str] = []

    async def reader(delivery: Delivery) -> None:
        received.append(delivery.message_id)

    async def received_so_far() -> list[str]:
        return list(received)

    try:
        await asyncio.wait_for(bus.start(), timeout=20)
        await bus.check()
        connected = await asyncio.to_thread(rabbitmqctl, "list_connections", "--silent", "user", "vhost")
        assert f"{name}\t{vhost.name}" in connected.splitlines()  # the broker knows it as the generated user

        await bus.subscribe(SUBSCRIPTION, reader, RetryPolicy(delays_seconds=(0.1,)))
        await bus.publish([OutgoingMessage("first", "directory.institution.created", b"{}")])
        await wait_for(received_so_far, lambda seen: seen == ["first"], what="the message published to be consumed")
    finally:
        await bus.close()
