"""The relay dies after the broker confirmed a batch but before the outbox recorded it as sent."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from meshkit.bus import OutgoingMessage
from tests.support.mesh import Mesh

pytestmark = [pytest.mark.integration, pytest.mark.fault]


class RelayKilled(Exception):
    pass


async def _die(_batch: Sequence[OutgoingMessage]) -> None:
    raise RelayKilled("killed between broker confirm and mark-sent")


async def test_events_republished_after_a_relay_crash_are_applied_once_and_none_is_lost(mesh: Mesh) -> None:
    circulation = await mesh.service("circulation", bindings=["directory.#"])
    ill = await mesh.service("ill", bindings=["directory.#"])
    directory = await mesh.service("directory")
    envelopes = await directory.publish([f"CN-UNI{i:02d}" for i in range(20)])
    ids = [str(e.id) for e in envelopes]

    directory.runtime.relay.after_publish = _die
    with pytest.raises(RelayKilled):
        await directory.runtime.relay.publish_pending()
    assert await directory.unsent() == 20  # on the broker, but the outbox does not know it

    directory.runtime.relay.after_publish = None
    assert await directory.flush() == 20
    assert await directory.unsent() == 0
    await mesh.drain(directory, [circulation, ill])

    for consumer in (circulation, ill):
        counts = await consumer.applied_counts()
        assert [counts[i] for i in ids] == [1] * 20, consumer.name
        # Every event did arrive twice; the inbox absorbed the second copy.
        assert consumer.consumed("duplicate") == 20, consumer.name
