"""In-process wake-ups: a commit that wrote notifications or deliveries wakes this replica's streams and senders
at once. Other replicas find the rows by polling, so a missed signal costs at most one poll interval."""

from __future__ import annotations

import asyncio

from meshkit.waiting import wait_until_set


class Signal:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """True if fired within `seconds`."""
        return await wait_until_set(self._event, seconds)


class Signals:
    def __init__(self) -> None:
        self.notifications = Signal()
        self.deliveries = Signal()
