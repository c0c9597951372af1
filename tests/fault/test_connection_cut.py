"""Broker connections cut while a stream of events is in flight (RabbitMQ only: the embedded bus has none).

Restarting the shared broker is not allowed here, so forced connection closes stand in for a broker outage. The
first cut lands just as the relay publishes a batch: depending on whether the client has seen the close yet, that
batch fails unconfirmed and is published again, or waits for the reconnection. The second lands while both consumers
are inside a handler, so deliveries they have applied come back unacknowledged. Nothing may be lost or doubled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from meshkit.bus import OutgoingMessage
from tests.support.infra import close_connections, connections
from tests.support.mesh import Mesh
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]

COMMITS = 10
EVENTS_PER_COMMIT = 30
CUT_DURING_BATCH = 4
CUT_AFTER_COMMIT = 6


async def test_every_event_is_applied_exactly_once_across_connection_cuts(
    rabbitmq_mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = rabbitmq_mesh
    assert mesh.vhost is not None
    vhost = mesh.vhost
    circulation = await mesh.service("circulation", bindings=["directory.#"])
    ill = await mesh.service("ill", bindings=["directory.#"])
    directory = await mesh.service("directory", relay=True, relay_batch_size=25)

    closed: list[int] = []
    cut_off: set[str] = set()
    batches = 0
    publish = directory.bus.publish
    first_cut = asyncio.Event()

    async def publish_with_a_cut(messages: Sequence[OutgoingMessage]) -> None:
        nonlocal batches
        batches += 1
        if batches == CUT_DURING_BATCH:
            cut_off.update(await connections(vhost))
            closed.append(await close_connections(vhost, "test"))
            first_cut.set()
        await publish(messages)

    async def first_cut_done() -> bool:
        return first_cut.is_set()

    async def new_connections() -> set[str]:
        return await connections(vhost) - cut_off

    monkeypatch.setattr(directory.bus, "publish", publish_with_a_cut)

    async def both_consumers_held() -> bool:
        return all(consumer.waiting_at_gate for consumer in (circulation, ill))

    ids: list[str] = []
    for commit in range(COMMITS):
        second_cut = commit == CUT_AFTER_COMMIT
        if second_cut:
            # Once every client is back from the first cut, hold both consumers inside a handler, so that this cut
            # leaves each with a delivery it applies but can no longer acknowledge: the broker delivers it again.
            await wait_for(first_cut_done, bool, what="the relay to publish its fourth batch")
            await wait_for(new_connections, lambda names: len(names) >= 3, what="all three clients to reconnect",
                           interval=0.1)
            for consumer in (circulation, ill):
                consumer.gate.clear()
        envelopes = await directory.publish([f"CN-{commit:02d}-{i:02d}" for i in range(EVENTS_PER_COMMIT)])
        ids.extend(str(e.id) for e in envelopes)
        if second_cut:
            await wait_for(both_consumers_held, bool, what="both consumers to be inside a handler")
            closed.append(await close_connections(vhost, "test"))
            for consumer in (circulation, ill):
                consumer.gate.set()

    for consumer in (circulation, ill):
        await consumer.wait_applied(ids, timeout=45)
    await mesh.drain(directory, [circulation, ill])

    # Both cuts really hit the producer's and both consumers' connections.
    assert len(closed) == 2 and all(count >= 3 for count in closed), closed
    assert await directory.unsent() == 0
    assert len(ids) == COMMITS * EVENTS_PER_COMMIT
    for consumer in (circulation, ill):
        counts = await consumer.applied_counts()
        assert [i for i in ids if counts[i] != 1] == [], consumer.name
        assert consumer.consumed("duplicate") >= 1, f"{consumer.name} should have been given a delivery twice"
