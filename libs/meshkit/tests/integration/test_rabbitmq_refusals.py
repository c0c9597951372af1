"""A message RabbitMQ (or its client) refuses on its own merits is named as refused, apart from the messages that
went through, and does not break publishing for the next ones: what the outbox relay needs to park it alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest

from meshkit.bus import OutgoingMessage, PublishFailed
from meshkit.bus.rabbitmq import RabbitMQTransport
from tests.support.infra import VirtualHost, rabbitmq_vhost

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus() -> AsyncIterator[tuple[RabbitMQTransport, VirtualHost]]:
    async with rabbitmq_vhost() as vhost:
        transport = RabbitMQTransport(vhost.url())
        try:
            await transport.start()
            yield transport, vhost
        finally:
            await transport.close()


def message(message_id: str, routing_key: str = "test.accepted", body: bytes = b"{}") -> OutgoingMessage:
    return OutgoingMessage(message_id, routing_key, body)


async def test_a_nacked_or_unencodable_message_is_named_and_the_rest_of_the_batch_confirmed(
    bus: tuple[RabbitMQTransport, VirtualHost],
) -> None:
    transport, vhost = bus
    async with await aio_pika.connect(vhost.url()) as connection:
        channel = await connection.channel()
        full = await channel.declare_queue("full", arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        await full.bind(transport.exchange_name, routing_key="test.full")

    with pytest.raises(PublishFailed) as failed:
        await transport.publish([message("a"), message("nacked", "test.full"), message("b"),
                                 message("too-long", "test." + "é" * 130), message("c")])
    assert failed.value.confirmed == {"a", "b", "c"}
    assert failed.value.refused.keys() == {"nacked", "too-long"}
    assert "Nack" in failed.value.refused["nacked"]
    assert "255 bytes" in failed.value.refused["too-long"]


async def test_after_the_broker_closes_the_channel_over_one_message_the_next_one_goes_through(
    bus: tuple[RabbitMQTransport, VirtualHost],
) -> None:
    transport, _ = bus
    too_large = message("too-large", body=b"x" * (128 * 1024 * 1024 + 1))  # RabbitMQ's default max_message_size
    with pytest.raises(PublishFailed) as failed:
        await transport.publish([too_large])
    assert "PRECONDITION_FAILED" in failed.value.refused["too-large"]
    del too_large

    # The channel the broker closed is reopened first: this message must not fail for the previous one's sake.
    await transport.publish([message("next")])
    await transport.check()
