"""Messages no handler can apply are parked with their error, do not block the queue, and can be replayed."""

from __future__ import annotations

import logging

import pytest

from meshkit.bus import DeadLetter, OutgoingMessage
from tests.support.mesh import EVENT_TYPE, Mesh
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]


async def test_poison_messages_are_parked_and_later_messages_still_applied(
    mesh: Mesh, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="meshkit.bus")
    reader = await mesh.service("reader", bindings=["directory.#"], failing_codes=["CN-POISON", "CN-FIXED-LATER"])
    assert reader.subscription is not None
    subscription = reader.subscription
    directory = await mesh.service("directory")

    garbage = OutgoingMessage("garbage-0001", EVENT_TYPE, b'{"this is": "not an envelope"')
    await directory.bus.publish([garbage])
    poison, fixed_later = await directory.publish(["CN-POISON", "CN-FIXED-LATER"])
    valid = await directory.publish(["CN-OK1", "CN-OK2"])
    await directory.flush()

    await reader.wait_applied([str(e.id) for e in valid])

    async def parked() -> dict[str, DeadLetter]:
        return {d.message_id: d for d in await reader.bus.dead_letters(subscription)}

    everything = {garbage.message_id, str(poison.id), str(fixed_later.id)}
    dead = await wait_for(parked, lambda d: d.keys() == everything, what="three parked messages", interval=0.2)
    assert "not a valid event envelope" in dead[garbage.message_id].error
    assert dead[garbage.message_id].attempts == 1  # malformed: parked at once, not retried
    assert dead[garbage.message_id].body == garbage.body
    assert "cannot apply institution CN-POISON" in dead[str(poison.id)].error
    assert dead[str(poison.id)].attempts == mesh.retry.max_attempts
    assert dead[str(poison.id)].routing_key == EVENT_TYPE

    reader.failing_codes.discard("CN-FIXED-LATER")  # the handler's bug is fixed: replay just that message
    assert await reader.bus.replay(subscription, [str(fixed_later.id)]) == 1
    await reader.wait_applied([str(fixed_later.id)])
    still_parked = {garbage.message_id, str(poison.id)}
    assert (await parked()).keys() == still_parked

    # Replaying the rest puts them through the handler again; they cannot succeed, so they are parked again.
    assert await reader.bus.replay(subscription) == 2
    dead = await wait_for(parked, lambda d: d.keys() == still_parked and d[str(poison.id)].attempts > 1,
                          what="the still-failing messages parked again", interval=0.2)
    assert dead[str(poison.id)].attempts == mesh.retry.max_attempts
    assert "not a valid event envelope" in dead[garbage.message_id].error
    counts = await reader.applied_counts()
    assert counts[str(fixed_later.id)] == 1
    assert str(poison.id) not in counts
    # Waiting out the retry delays is the bus's normal work, not a failure of its own.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("meshkit.bus") and r.exc_info] == []
