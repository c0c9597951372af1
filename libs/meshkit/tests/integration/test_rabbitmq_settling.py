"""Every message a RabbitMQ consumer receives ends acked or nacked: none is lost, none sits unacked holding a slot.

Runs against the real broker, in a vhost of its own. The forward failures are real too: a retry queue deleted under
the consumer (the broker returns the copy as unroutable) and a retry queue a policy fills (the broker nacks it).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aio_pika
import pytest

from meshkit.bus import Delivery, OutgoingMessage, PermanentFailure, RetryPolicy, Subscription
from meshkit.bus.rabbitmq import ATTEMPT_HEADER, RabbitMQTransport
from tests.support.infra import VirtualHost, rabbitmq_vhost, rabbitmqctl
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

ROUTING_KEY = "directory.institution.created"
SUBSCRIPTION = Subscription("reader.directory", ("directory.#",))
RETRY = RetryPolicy(delays_seconds=(0.1, 0.1), delivery_limit=3, requeue_pause_seconds=0.05)


@dataclass
class Reader:
    """Records each delivery; fails `failures[id]` times for a message, or always with PermanentFailure for `poison`."""

    failures: dict[str, int] = field(default_factory=dict)
    poison: set[str] = field(default_factory=set)
    seen: list[tuple[str, int]] = field(default_factory=list)
    seen_at: list[float] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    async def __call__(self, delivery: Delivery) -> None:
        self.seen.append((delivery.message_id, delivery.attempt))
        self.seen_at.append(time.monotonic())
        if delivery.message_id in self.poison:
            raise PermanentFailure("cannot be applied")
        if self.failures.get(delivery.message_id, 0) > 0:
            self.failures[delivery.message_id] -= 1
            raise RuntimeError("handler bug")
        self.applied.append(delivery.message_id)

    async def applied_so_far(self) -> set[str]:
        return set(self.applied)

    def attempts(self, message_id: str) -> list[int]:
        return [attempt for seen_id, attempt in self.seen if seen_id == message_id]

    def times(self, message_id: str) -> list[float]:
        return [at for (seen_id, _), at in zip(self.seen, self.seen_at, strict=True) if seen_id == message_id]


@pytest.fixture
async def vhost() -> AsyncIterator[VirtualHost]:
    async with rabbitmq_vhost() as created:
        yield created


@pytest.fixture
async def bus(vhost: VirtualHost) -> AsyncIterator[RabbitMQTransport]:
    transport = RabbitMQTransport(vhost.url(), prefetch=8)
    try:
        yield transport
    finally:
        await transport.close()


async def consume(bus: RabbitMQTransport, reader: Reader) -> None:
    await bus.subscribe(SUBSCRIPTION, reader, RETRY)


async def publish(bus: RabbitMQTransport, message_id: str, **headers: str) -> None:
    await bus.publish([OutgoingMessage(message_id, ROUTING_KEY, b"{}", headers=dict(headers))])


async def queue_depth(vhost: VirtualHost, queue: str = SUBSCRIPTION.queue) -> tuple[int, int]:
    """(ready, unacknowledged) messages in `queue`, as the broker counts them."""
    output = await asyncio.to_thread(rabbitmqctl, "list_queues", "-p", vhost.name, "--silent",
                                     "name", "messages_ready", "messages_unacknowledged")
    for line in output.splitlines():
        name, ready, unacked = line.split("\t")
        if name == queue:
            return int(ready), int(unacked)
    raise AssertionError(f"no queue {queue} in {output!r}")


async def drained(vhost: VirtualHost) -> None:
    await wait_for(lambda: queue_depth(vhost), lambda depth: depth == (0, 0), what=f"{SUBSCRIPTION.queue} to drain",
                   interval=0.3)


@pytest.mark.parametrize("header", ["not-a-number", "0", "-3", ""])
async def test_a_malformed_attempt_header_counts_as_the_first_attempt(
        bus: RabbitMQTransport, vhost: VirtualHost, header: str) -> None:
    reader = Reader(failures={"odd-header": 1})
    await consume(bus, reader)

    await publish(bus, "odd-header", **{ATTEMPT_HEADER: header})
    await publish(bus, "after-it")

    await wait_for(reader.applied_so_far, lambda a: a == {"odd-header", "after-it"}, what="both messages applied")
    assert reader.attempts("odd-header") == [1, 2]  # failed once, retried through the first retry queue
    await drained(vhost)


async def test_a_message_with_a_malformed_attempt_header_that_cannot_be_applied_is_parked_and_listed(
        bus: RabbitMQTransport, vhost: VirtualHost) -> None:
    reader = Reader(poison={"odd-poison"})
    await consume(bus, reader)

    await publish(bus, "odd-poison", **{ATTEMPT_HEADER: "two"})

    parked = await wait_for(lambda: bus.dead_letters(SUBSCRIPTION), lambda d: len(d) == 1, what="one parked message",
                            interval=0.2)
    assert (parked[0].message_id, parked[0].attempts) == ("odd-poison", 1)
    assert "cannot be applied" in parked[0].error
    await drained(vhost)


async def delete_queue(vhost: VirtualHost, name: str) -> None:
    connection = await aio_pika.connect(vhost.url())
    try:
        channel = await connection.channel()
        await channel.queue_delete(name)
    finally:
        await connection.close()


async def test_a_failed_message_whose_retry_queue_is_gone_is_delivered_again_then_dead_lettered_not_lost(
        bus: RabbitMQTransport, vhost: VirtualHost) -> None:
    reader = Reader(failures={"unlucky": 1_000})
    await consume(bus, reader)
    await delete_queue(vhost, f"{SUBSCRIPTION.queue}.retry.1")  # the copy for the retry has nowhere to go

    await publish(bus, "unlucky")
    await publish(bus, "after-it")

    parked = await wait_for(lambda: bus.dead_letters(SUBSCRIPTION), lambda d: len(d) == 1,
                            what="the broker to dead-letter the message at its delivery limit", interval=0.2)
    assert parked[0].message_id == "unlucky"
    assert "delivery limit reached" in parked[0].error
    assert len(reader.attempts("unlucky")) > 1  # handed back to the broker, which delivered it again
    times = reader.times("unlucky")
    pauses = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Handed back after a pause that doubles, not at once (which would spend the delivery limit in a moment).
    assert all(pause >= RETRY.requeue_pause(n) for n, pause in enumerate(pauses))
    assert "after-it" in reader.applied
    await drained(vhost)


async def fill_up(vhost: VirtualHost, queue: str) -> None:
    """Make `queue` refuse (nack) every message, as a full queue whose overflow mode is reject-publish does.

    A quorum queue takes a message over its limit, then refuses until it shrinks; the message taken stays (the
    queue's TTL is long), so it keeps refusing.
    """
    await asyncio.to_thread(rabbitmqctl, "set_policy", "-p", vhost.name, "--apply-to", "queues", "full",
                            f"^{re.escape(queue)}$", '{"max-length": 0}')
    connection = await aio_pika.connect(vhost.url())
    try:
        channel = await connection.channel(publisher_confirms=True)
        for _ in range(20):
            try:
                await channel.default_exchange.publish(aio_pika.Message(b"filler"), queue, timeout=5)
            except aio_pika.exceptions.DeliveryError:
                return
            await asyncio.sleep(0.1)
    finally:
        await connection.close()
    pytest.fail(f"{queue} never refused a message", pytrace=False)


async def test_a_failed_message_the_retry_queue_refuses_is_not_left_unacknowledged(
        bus: RabbitMQTransport, vhost: VirtualHost) -> None:
    reader = Reader(failures={"refused": 1_000})
    await bus.subscribe(SUBSCRIPTION, reader, RetryPolicy(delays_seconds=(60.0,), delivery_limit=3,
                                                         requeue_pause_seconds=0.05))
    await fill_up(vhost, f"{SUBSCRIPTION.queue}.retry.1")

    await publish(bus, "refused")  # fails, and the broker nacks its copy for the retry
    await publish(bus, "after-it")

    parked = await wait_for(lambda: bus.dead_letters(SUBSCRIPTION), lambda d: len(d) == 1,
                            what="the broker to dead-letter the message at its delivery limit", interval=0.2)
    assert parked[0].message_id == "refused"
    assert "delivery limit reached" in parked[0].error  # not parked by our retry path: every forward was refused
    assert len(reader.attempts("refused")) > 1
    assert "after-it" in reader.applied
    await drained(vhost)
