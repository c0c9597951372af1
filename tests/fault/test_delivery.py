"""Delivery guarantees every transport keeps: fan-out, per-aggregate order, durability across a restart."""

from __future__ import annotations

import pytest

from bibliomesh_contracts import new_envelope
from meshkit.bus import Delivery, OutgoingMessage, Subscription
from tests.support.mesh import Mesh, institution_created
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


async def test_one_event_reaches_each_subscribed_consumer_and_is_applied_once(mesh: Mesh) -> None:
    circulation = await mesh.service("circulation", bindings=["directory.#"])
    ill = await mesh.service("ill", bindings=["directory.institution.*"])
    search = await mesh.service("search", bindings=["catalog.#"])
    directory = await mesh.service("directory", relay=True)

    envelopes = await directory.publish(["CN-DL-UNI1", "CN-DL-UNI2", "CN-SH-PUB1"])
    await mesh.drain(directory, [circulation, ill])

    ids = [str(e.id) for e in envelopes]
    for consumer in (circulation, ill):
        counts = await consumer.applied_counts()
        assert [counts[i] for i in ids] == [1, 1, 1], consumer.name
        assert set(ids) <= await consumer.inbox_ids()
    assert await search.applied_rows() == []
    assert await directory.unsent() == 0


async def test_events_of_one_aggregate_are_applied_in_the_order_they_were_published(mesh: Mesh) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_batch_size=7)

    # Two institutions changing in step, over several commits and relay batches.
    for first in range(1, 41, 10):
        await directory.publish_changes([(code, v) for v in range(first, first + 10) for code in ("CN-A", "CN-B")])
    await directory.flush()
    await mesh.drain(directory, [reader])

    rows = await reader.applied_rows()
    for code in ("CN-A", "CN-B"):
        assert [r.aggregate_version for r in rows if r.aggregate_id == code] == list(range(1, 41))


async def test_a_message_published_while_its_consumer_is_down_is_delivered_after_a_transport_restart(
    mesh: Mesh,
) -> None:
    subscription = Subscription("reader.directory", ("directory.#",))
    envelope = new_envelope(institution_created("CN-DURABLE"), producer="directory", aggregate_id="CN-DURABLE",
                            aggregate_version=1)
    message = OutgoingMessage(str(envelope.id), envelope.type, envelope.model_dump_json().encode())

    before = mesh.new_transport()
    await before.declare(subscription, mesh.retry)
    await before.publish([message])
    await before.close()

    after = mesh.new_transport()
    received: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        received.append(delivery)

    async def seen() -> list[Delivery]:
        return list(received)

    await after.subscribe(subscription, handler, mesh.retry)
    deliveries = await wait_for(seen, bool, what="the message published before the restart")
    assert [(d.message_id, d.routing_key, d.body) for d in deliveries] == [
        (message.message_id, message.routing_key, message.body)
    ]
    assert await after.dead_letters(subscription) == []
