"""With several replicas, each relay waits out a failed event's pause kept in its row, and every replica reports the
pending and parked events, also while another one leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bibliomesh_contracts import new_envelope
from meshkit.parking import release
from tests.support.mesh import Mesh, institution_created
from tests.support.outbox_parking import (
    applied_ids,
    commit_raw,
    gauges,
    make_due,
    outbox_rows,
    parked_ids,
    replica,
)

pytestmark = [pytest.mark.integration, pytest.mark.fault]


async def test_replicas_taking_turns_wait_out_an_events_pause_and_publish_the_events_behind_it(
    rabbitmq_mesh: Mesh,
) -> None:
    mesh = rabbitmq_mesh
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_max_attempts=4)
    first = directory.runtime.relay
    first.retry_pause_seconds = 60  # far longer than this test takes: no pass below may try the event before it
    pause = timedelta(seconds=60)

    async with replica(mesh, directory) as second:
        good = [str(e.id) for e in await directory.publish(["CN-TURN-A"])]
        corrupt = await commit_raw(directory, '{"id": "truncated by a bug', aggregate_id="CN-TURN-B")
        good += [str(e.id) for e in await directory.publish(["CN-TURN-B"])]
        started = datetime.now(UTC)
        assert await first.publish_pending() == 2
        row = (await outbox_rows(directory))[corrupt]
        assert row.attempts == 1 and started + pause <= row.next_attempt_at <= datetime.now(UTC) + pause
        paused_until = row.next_attempt_at

        # Leadership changes from pass to pass (production runs two replicas or more): the other replica, which
        # never saw the failure, waits out the pause too, and publishes what is committed meanwhile, in order.
        for turn in range(6):
            good += [str(e.id) for e in await directory.publish([f"CN-TURN{turn}"])]
            assert await (second, first)[turn % 2].publish_pending() == 1
        row = (await outbox_rows(directory))[corrupt]
        assert (row.attempts, row.next_attempt_at, row.parked_at) == (1, paused_until, None)

        # Once the pause is over, whichever replica leads tries it, and the next pause (five times longer) is kept in
        # the row for both of them.
        await make_due(directory, corrupt)
        started = datetime.now(UTC)
        assert await second.publish_pending() == 0
        row = (await outbox_rows(directory))[corrupt]
        assert row.attempts == 2 and started + 5 * pause <= row.next_attempt_at <= datetime.now(UTC) + 5 * pause
        for relay in (first, second, first):
            assert await relay.publish_pending() == 0
        assert (await outbox_rows(directory))[corrupt].attempts == 2

        for attempt, relay in ((3, first), (4, second)):
            await make_due(directory, corrupt)
            await relay.publish_pending()
            assert (await outbox_rows(directory))[corrupt].attempts == attempt
        row = (await outbox_rows(directory))[corrupt]
        assert row.parked_at is not None and row.next_attempt_at is None  # parked: no next attempt of its own

        await release(directory.runtime.engine, directory.runtime.tables.outbox, [corrupt])
        row = (await outbox_rows(directory))[corrupt]
        assert (row.attempts, row.next_attempt_at, row.parked_at) == (0, None, None)
        assert await second.publish_pending() == 0  # released: tried at once, and paused again
        assert (await outbox_rows(directory))[corrupt].attempts == 1

    await reader.wait_applied(good)
    assert await applied_ids(reader) == good


async def test_every_replica_reports_pending_and_parked_events_also_while_another_one_leads(
    rabbitmq_mesh: Mesh,
) -> None:
    mesh = rabbitmq_mesh
    directory = await mesh.service("directory", relay_max_attempts=1)
    first = directory.runtime.relay
    outbox = directory.runtime.tables.outbox
    async with replica(mesh, directory) as second:
        envelope = new_envelope(institution_created("CN-GAUGE"), producer="directory", aggregate_id="CN-GAUGE",
                                aggregate_version=1)
        broken = await commit_raw(directory, envelope.model_dump_json()[:30], event_id=str(envelope.id))
        assert await first.publish_pending() == 0
        assert await parked_ids(directory) == {broken}
        for relay in (second, first):
            assert await relay.publish_pending() == 0
        assert gauges(first) == gauges(second) == (0, 1)  # each replica counts what is parked, not what it parked

        async with directory.runtime.engine.begin() as conn:  # the row repaired, then released by an operator
            await conn.execute(sa.update(outbox).where(outbox.c.event_id == broken)
                               .values(body=envelope.model_dump_json()))
        assert await release(directory.runtime.engine, outbox) == [broken]
        await directory.publish(["CN-GAUGE2", "CN-GAUGE3"])
        async with directory.runtime.engine.connect() as leader:
            # Another replica's pass under way: these passes lead nothing, and still report.
            await leader.begin()
            await leader.scalar(sa.select(sa.func.pg_advisory_xact_lock(first._lock_key)))
            for relay in (first, second):
                assert await relay.publish_pending() == 0
                assert gauges(relay) == (3, 0)  # so the parked-event alert clears
            await leader.rollback()

        assert await second.publish_pending() == 3
        assert await first.publish_pending() == 0
        assert gauges(first) == (0, 0)
        assert await directory.unsent() == 0
