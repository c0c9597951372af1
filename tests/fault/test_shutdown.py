"""Stopping ends the relay and the consumers even when a cancellation turns into an error on the way out.

A clean-up that fails while a task is being cancelled (the last write of a cancelled batch to a file another
connection still locks, as the embedded bus once did) raises an ordinary error in place of the cancellation. The retry
loops took it for one more failure and went on, so stopping the service never returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest

from meshkit.bus import Delivery, OutgoingMessage, RetryPolicy, Subscription
from tests.support.mesh import Mesh

pytestmark = [pytest.mark.integration, pytest.mark.fault]


class StuckThenFailing:
    """Waits forever once entered; cancelled, it raises an error instead, until told to behave."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.failing = True

    async def __call__(self, *_: object) -> None:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.failing:
                raise RuntimeError("database is locked") from None
            raise


async def ends(stop: Callable[[], Awaitable[None]], stuck: StuckThenFailing,
               tasks: Callable[[], Sequence[asyncio.Task[None]]]) -> bool:
    """Whether `stop()` returned within half a minute. If not, the stuck step is told to behave and cancelled again,
    so that a failing test still ends."""
    stopping = asyncio.create_task(stop())
    done, _ = await asyncio.wait({stopping}, timeout=30)
    if stopping not in done:
        stuck.failing = False
        for task in tasks():
            task.cancel()
        await stopping
        return False
    stopping.result()
    return True


async def test_stopping_ends_a_relay_whose_publishing_fails_while_cancelled(mesh: Mesh) -> None:
    directory = await mesh.service("directory", relay=True)
    stuck = StuckThenFailing()
    directory.runtime.relay.after_publish = stuck
    await directory.publish(["CN-STOP"])
    await asyncio.wait_for(stuck.entered.wait(), 30)

    assert await ends(directory.runtime.stop, stuck, lambda: directory.runtime._tasks), \
        "stopping waited for a relay that took its cancellation for a failed pass"


async def test_closing_a_bus_ends_a_consumer_whose_handler_fails_while_cancelled(mesh: Mesh) -> None:
    bus = mesh.new_transport()
    stuck = StuckThenFailing()

    async def handler(delivery: Delivery) -> None:
        await stuck(delivery)

    await bus.start()
    await bus.subscribe(Subscription("shutdown.test", ("test.#",)), handler, RetryPolicy(delays_seconds=(0.01,)))
    await bus.publish([OutgoingMessage(message_id="m1", routing_key="test.one", body=b"{}")])
    await asyncio.wait_for(stuck.entered.wait(), 30)

    assert await ends(bus.close, stuck, lambda: bus._workers), \
        "closing waited for a consumer that took its cancellation for a failed delivery"
