"""A batched consumer (`Consumer.batched`) applies a backlog several events to a transaction, and keeps every
guarantee of the one-at-a-time path: each event once, in order, and a message that cannot be applied retried and
parked alone while the rest of its batch is applied."""

from __future__ import annotations

import pytest

from meshkit.bus import DeadLetter, OutgoingMessage
from tests.support.mesh import EVENT_TYPE, Mesh, TestService
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]


async def _with_backlog(mesh: Mesh, reader: TestService, codes: list[str]) -> None:
    """Hold the reader inside its first event's transaction until the directory published one event per code after
    it, so that those wait in the queue together."""
    directory = await mesh.service("directory")
    reader.gate.clear()
    await directory.publish(["CN-FIRST"])
    await directory.flush()
    await wait_for(lambda: _async(reader.waiting_at_gate), lambda n: n == 1, what="the reader at its gate")
    await directory.publish_changes([(code, version) for version in (1, 2) for code in codes])
    await directory.flush()
    reader.gate.set()


async def _async(value: int) -> int:
    return value


@pytest.mark.parametrize("together", [False, True], ids=["one_call_each", "together"])
async def test_a_backlog_is_applied_once_each_in_order_several_events_to_a_transaction(
    mesh: Mesh, together: bool,
) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"], batched=True, together=together)
    codes = [f"CN-{n:03d}" for n in range(60)]

    await _with_backlog(mesh, reader, codes)
    rows = await wait_for(reader.applied_rows, lambda r: len(r) >= 121, what="the backlog applied")

    assert [(r.aggregate_id, r.aggregate_version) for r in rows] == [
        ("CN-FIRST", 1), *[(code, version) for version in (1, 2) for code in codes]]
    assert set((await reader.applied_counts()).values()) == {1}
    # The first event alone, then the 120 waiting ones several to a transaction (how many depends on what RabbitMQ
    # has sent ahead when the consumer looks; the embedded bus takes 64 at a time).
    assert reader.transactions[0] == 1
    assert len(set(reader.transactions)) <= 60
    assert reader.consumed("applied") == 121
    if together:  # the events of a batch went to the handler of runs, several in one call
        assert max(reader.together_calls) > 1 and sum(reader.together_calls) <= 120


@pytest.mark.parametrize("together", [False, True], ids=["one_call_each", "together"])
async def test_a_message_that_fails_in_a_batch_is_retried_and_parked_alone_while_the_rest_is_applied(
    mesh: Mesh, together: bool,
) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"], batched=True, together=together,
                                failing_codes=["CN-POISON"])
    assert reader.subscription is not None
    codes = ["CN-A", "CN-POISON", "CN-B"]

    await _with_backlog(mesh, reader, codes)
    garbage = OutgoingMessage("garbage-0001", EVENT_TYPE, b'{"this is": "not an envelope"')
    await reader.bus.publish([garbage])

    async def parked() -> dict[str, DeadLetter]:
        return {d.message_id: d for d in await reader.bus.dead_letters(reader.subscription)}  # type: ignore[arg-type]

    dead = await wait_for(parked, lambda d: len(d) == 3, what="the poison events and the garbage parked",
                          interval=0.2)
    assert dead[garbage.message_id].attempts == 1  # malformed: parked at once, as when consumed alone
    poison = [d for d in dead.values() if d.message_id != garbage.message_id]
    assert [d.attempts for d in poison] == [mesh.retry.max_attempts] * 2
    assert all("cannot apply institution CN-POISON" in d.error for d in poison)

    rows = await reader.applied_rows()
    assert [(r.aggregate_id, r.aggregate_version) for r in rows] == [
        ("CN-FIRST", 1), ("CN-A", 1), ("CN-B", 1), ("CN-A", 2), ("CN-B", 2)]
    assert set((await reader.applied_counts()).values()) == {1}


async def test_copies_of_one_event_waiting_together_are_applied_once(mesh: Mesh) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"], batched=True)
    directory = await mesh.service("directory")
    reader.gate.clear()
    (first,) = await directory.publish(["CN-FIRST"])
    await directory.flush()
    await wait_for(lambda: _async(reader.waiting_at_gate), lambda n: n == 1, what="the reader at its gate")
    (event,) = await directory.publish(["CN-TWICE"])
    copy = OutgoingMessage(str(event.id), event.type, event.model_dump_json().encode())
    await directory.bus.publish([copy, copy])  # the relay's copy and two more, as after a relay crash
    await directory.flush()
    (after,) = await directory.publish(["CN-AFTER"])
    await directory.flush()
    reader.gate.set()

    await reader.wait_applied([str(after.id)])
    counts = await reader.applied_counts()
    assert counts[str(event.id)] == 1
    assert counts[str(first.id)] == 1
    assert reader.consumed("duplicate") == 2


async def test_with_batches_switched_off_a_batched_consumer_applies_one_event_to_a_transaction(mesh: Mesh) -> None:
    reader = await mesh.service("reader", bindings=["directory.#"], batched=True, together=True,
                                consumer_batches=False)
    codes = [f"CN-{n:03d}" for n in range(10)]

    await _with_backlog(mesh, reader, codes)
    rows = await wait_for(reader.applied_rows, lambda r: len(r) >= 21, what="the backlog applied")

    assert len(rows) == 21
    assert reader.transactions == list(range(1, 22))
    assert reader.together_calls == []
