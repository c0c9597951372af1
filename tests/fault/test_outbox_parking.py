"""An event the relay can never publish is parked after a few attempts instead of blocking every event behind it;
a broker outage parks nothing; operators list and release parked events (`bibliomesh <service> outbox ...`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from typer.testing import CliRunner

from bibliomesh_contracts import new_envelope
from meshkit.bus import OutgoingMessage, PublishFailed
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.cli import service_cli
from meshkit.service_spec import ServiceSpec
from tests.support.infra import RABBITMQ_USER, delete_vhost, rabbitmqctl
from tests.support.mesh import EVENT_TYPE, Mesh, institution_created
from tests.support.outbox_parking import (
    applied_ids,
    commit_raw,
    outbox_rows,
    parked_gauge,
    parked_ids,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]


async def test_an_unpublishable_event_is_parked_and_the_events_around_it_go_out_in_order(
    mesh: Mesh, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="meshkit.relay")
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_max_attempts=3)
    relay = directory.runtime.relay
    relay.retry_pause_seconds = 0.3  # then 1.5 s: the pauses grow fivefold

    before = await directory.publish(["CN-BEFORE1", "CN-BEFORE2"])
    corrupt = await commit_raw(directory, '{"id": "truncated by a bug', aggregate_id="CN-AFTER1")
    after = await directory.publish(["CN-AFTER1", "CN-AFTER2"])
    good = [str(e.id) for e in [*before, *after]]

    assert await relay.publish_pending() == 4  # the corrupt row holds nothing back
    assert await relay.publish_pending() == 0
    row = (await outbox_rows(directory))[corrupt]
    assert (row.attempts, row.parked_at, row.published_at) == (1, None, None)  # pausing: not retried at once
    assert "JSONDecodeError" in row.last_error
    await reader.wait_applied(good)
    assert await applied_ids(reader) == good

    async def attempts() -> int:
        await relay.publish_pending()
        return int((await outbox_rows(directory))[corrupt].attempts)

    await wait_for(attempts, lambda n: n == 3, what="the corrupt event's third attempt", timeout=10)
    row = (await outbox_rows(directory))[corrupt]
    assert row.parked_at is not None and row.published_at is None
    assert "JSONDecodeError" in row.last_error
    for _ in range(3):  # parked: no longer tried
        await relay.publish_pending()
    assert (await outbox_rows(directory))[corrupt].attempts == 3
    assert parked_gauge(directory) == 1

    parked_logs = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(r.event_id, r.event_type) for r in parked_logs] == [(corrupt, EVENT_TYPE)]  # type: ignore[attr-defined]
    assert "JSONDecodeError" in parked_logs[0].error  # type: ignore[attr-defined]
    assert all("truncated by a bug" not in json.dumps(vars(r), default=str) for r in caplog.records)

    later = await directory.publish(["CN-LATER"])
    assert await directory.flush() == 1
    await mesh.drain(directory, [reader])
    assert (await applied_ids(reader))[:5] == [*good, str(later[0].id)]
    assert reader.consumed("duplicate") == 0


async def test_a_broker_outage_parks_nothing_and_everything_goes_out_in_order_afterwards(
    rabbitmq_mesh: Mesh,
) -> None:
    mesh = rabbitmq_mesh
    assert mesh.vhost is not None
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_max_attempts=2)
    relay = directory.runtime.relay
    relay.retry_pause_seconds = 0
    ids = [str(e.id) for e in await directory.publish(["CN-OUT0"])]
    assert await directory.flush() == 1  # the relay is connected when the outage begins
    ids += [str(e.id) for e in await directory.publish([f"CN-OUT{i}" for i in range(1, 6)])]

    await delete_vhost(mesh.vhost)  # the broker closes every connection and refuses new ones until it is back
    for _ in range(relay.max_attempts * 3):
        with pytest.raises(PublishFailed):
            await relay.publish_pending()
    rows = await outbox_rows(directory)
    assert [(rows[i].attempts, rows[i].parked_at, rows[i].published_at) for i in ids[1:]] == [(0, None, None)] * 5
    assert all(rows[i].last_error for i in ids[1:])

    await asyncio.to_thread(rabbitmqctl, "add_vhost", mesh.vhost.name)
    await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", mesh.vhost.name, RABBITMQ_USER, ".*", ".*", ".*")

    async def queues() -> list[str]:
        return (await asyncio.to_thread(rabbitmqctl, "list_queues", "-p", mesh.vhost.name, "--silent", "name")).split()

    await wait_for(queues, lambda names: "reader.directory" in names, timeout=60,
                   what="the consumer to declare its queue again")

    async def unsent_after_a_pass() -> int:
        with contextlib.suppress(PublishFailed):  # the relay's connection may be back a moment after the consumer's
            await relay.publish_pending()
        return await directory.unsent()

    await wait_for(unsent_after_a_pass, lambda n: n == 0, timeout=60, interval=0.2, what="the outbox to drain")
    await reader.wait_applied(ids, timeout=30)
    assert await applied_ids(reader) == ids
    assert await parked_ids(directory) == set()


async def test_a_locked_embedded_bus_parks_nothing_and_everything_goes_out_once_it_is_free(
    tmp_path: Path,
) -> None:
    mesh = Mesh("embedded", tmp_path)
    try:
        reader = await mesh.service("reader", bindings=["directory.#"])
        directory = await mesh.service("directory", relay_max_attempts=2)
        relay = directory.runtime.relay
        relay.retry_pause_seconds = 0
        # Another handle on the same bus file that waits 0.2 s for a lock instead of 30 s.
        impatient = mesh.new_transport()
        assert isinstance(impatient, EmbeddedTransport)
        sa.event.listen(impatient._engine.sync_engine, "connect",
                        lambda dbapi, _record: dbapi.cursor().execute("PRAGMA busy_timeout=200"))
        relay.transport = impatient
        ids = [str(e.id) for e in await directory.publish([f"CN-LOCK{i}" for i in range(5)])]

        holder = sqlite3.connect(tmp_path / "bus.sqlite", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # a writer that keeps the bus locked
            for _ in range(relay.max_attempts * 2):
                with pytest.raises(PublishFailed, match="locked"):
                    await relay.publish_pending()
        finally:
            holder.close()
        rows = await outbox_rows(directory)
        assert [(rows[i].attempts, rows[i].parked_at) for i in ids] == [(0, None)] * 5

        assert await directory.flush() == 5
        await reader.wait_applied(ids)
        assert await applied_ids(reader) == ids
    finally:
        await mesh.close()


async def test_messages_the_broker_refuses_are_parked_while_the_others_go_through(rabbitmq_mesh: Mesh) -> None:
    mesh = rabbitmq_mesh
    assert mesh.vhost is not None
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_max_attempts=2)
    relay = directory.runtime.relay
    relay.retry_pause_seconds = 0
    # A queue that takes nothing and says so: the broker nacks every message routed to it.
    connection = await aio_pika.connect(mesh.vhost.url())
    async with connection:
        channel = await connection.channel()
        full = await channel.declare_queue("audit.full", arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        await full.bind("bibliomesh.events", routing_key="audit.#")

    first = await directory.publish(["CN-REF1"])
    envelope = new_envelope(institution_created("CN-AUDITED"), producer="directory", aggregate_id="CN-AUDITED",
                            aggregate_version=1)
    nacked = await commit_raw(directory, envelope.model_dump_json(), event_id=str(envelope.id),
                              event_type="audit.institution.created")
    middle = await directory.publish(["CN-REF2"])
    unencodable = await commit_raw(directory, envelope.model_dump_json(),
                                   event_type="directory." + "é" * 130)  # 262 bytes: AMQP allows 255
    last = await directory.publish(["CN-REF3"])
    good = [str(e.id) for e in [*first, *middle, *last]]

    assert await relay.publish_pending() == 3
    rows = await outbox_rows(directory)
    assert "Nack" in rows[nacked].last_error and rows[nacked].attempts == 1
    assert "255" in rows[unencodable].last_error and rows[unencodable].attempts == 1
    # Alone, refused messages show no more than that nothing goes through: that counts against neither.
    with pytest.raises(PublishFailed, match="no message went through"):
        await relay.publish_pending()
    rows = await outbox_rows(directory)
    assert (rows[nacked].attempts, rows[unencodable].attempts) == (1, 1)
    good += [str(e.id) for e in await directory.publish(["CN-REF4"])]
    assert await relay.publish_pending() == 1
    assert await parked_ids(directory) == {nacked, unencodable}

    await reader.wait_applied(good)
    assert await applied_ids(reader) == good
    assert reader.consumed("duplicate") == 0  # the batch's good messages were confirmed once, not published again


async def test_a_batch_failing_over_a_message_nobody_names_is_published_one_at_a_time(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_max_attempts=2)
    relay = directory.runtime.relay
    relay.retry_pause_seconds = 0
    envelopes = await directory.publish([f"CN-ONE{i}" for i in range(5)])
    culprit = str(envelopes[2].id)
    await directory.bus.start()  # connected: the bus works, it is the batch that fails
    publish = directory.bus.publish

    # As RabbitMQ closes the channel over a message it refuses (too large): every message in flight fails alike.
    async def refuse_with_the_batch(messages: Sequence[OutgoingMessage]) -> None:
        if any(m.message_id == culprit for m in messages):
            if len(messages) == 1:
                raise PublishFailed("channel closed: PRECONDITION_FAILED", refused={culprit: "PRECONDITION_FAILED"})
            raise PublishFailed(f"{len(messages)} of {len(messages)} messages not confirmed: channel closed")
        await publish(messages)

    monkeypatch.setattr(relay.transport, "publish", refuse_with_the_batch)
    assert await relay.publish_pending() == 4
    envelopes += await directory.publish(["CN-ONE5"])
    assert await relay.publish_pending() == 1
    assert await parked_ids(directory) == {culprit}
    others = [str(e.id) for e in envelopes if str(e.id) != culprit]
    await reader.wait_applied(others)
    assert await applied_ids(reader) == others


async def test_released_events_go_back_in_the_queue_and_one_still_bad_is_parked_again(mesh: Mesh) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"])
    directory = await mesh.service("directory", relay_max_attempts=2)
    relay = directory.runtime.relay
    relay.retry_pause_seconds = 0
    envelope = new_envelope(institution_created("CN-FIXED"), producer="directory", aggregate_id="CN-FIXED",
                            aggregate_version=1)
    fixable = await commit_raw(directory, envelope.model_dump_json()[:40], event_id=str(envelope.id))
    hopeless = await commit_raw(directory, "[1, 2, 3]")
    await directory.publish(["CN-OK"])
    for _ in range(2):
        await relay.publish_pending()
    assert await parked_ids(directory) == {fixable, hopeless}

    cli = service_cli(ServiceSpec(name="directory", settings=lambda: directory.runtime.settings,
                                  create_app=lambda **_: FastAPI(), migrations=Path(),
                                  metadata=directory.runtime.tables.outbox.metadata))

    async def run(*args: str) -> Any:
        return await asyncio.to_thread(CliRunner().invoke, cli, list(args))

    listed = await run("outbox", "parked", "--json")
    assert listed.exit_code == 0, listed.output
    items = [json.loads(line) for line in listed.output.splitlines()]
    assert [(i["event_id"], i["attempts"]) for i in items] == [(fixable, 2), (hopeless, 2)]
    assert "not an object" in items[1]["error"] and "[1, 2, 3]" not in listed.output

    outbox = directory.runtime.tables.outbox
    async with directory.runtime.engine.begin() as conn:  # the producer's bug is fixed and the row repaired
        await conn.execute(sa.update(outbox).where(outbox.c.event_id == fixable)
                           .values(body=envelope.model_dump_json()))
    refused = await run("outbox", "release")
    assert refused.exit_code != 0
    released = await run("outbox", "release", "--all")
    assert released.exit_code == 0, released.output
    assert "released 2 event(s)" in released.output
    rows = await outbox_rows(directory)
    assert [(rows[i].attempts, rows[i].parked_at) for i in (fixable, hopeless)] == [(0, None), (0, None)]

    assert await relay.publish_pending() == 1
    await reader.wait_applied([fixable])
    assert await relay.publish_pending() == 0
    assert await parked_ids(directory) == {hopeless}  # still bad: parked again after its attempts
    assert (await outbox_rows(directory))[hopeless].attempts == 2

    unknown = await run("outbox", "release", hopeless, str(uuid.uuid4()))
    assert unknown.exit_code == 1 and "released 1 event(s)" in unknown.output
    assert await parked_ids(directory) == set()
    assert (await run("outbox", "parked")).output.strip() == "no parked events"
