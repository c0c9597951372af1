"""The catalogue's background loop: due OAI-PMH harvests, and imports whose replica stopped.

It runs as a meshkit worker: started after the app's own startup (migrations, relay, consumers) and cancelled
before the database goes away. Each tick fails the imports whose heartbeat ran out and starts a task for every due
source this replica can claim (a few at a time); `wake()` makes it tick at once (a requested run).
"""

from __future__ import annotations

import asyncio
import logging

from bibliomesh_catalog.service_layer import imports
from bibliomesh_catalog.service_layer.harvest_scheduler import due_sources, harvest_source
from meshkit.runtime import ServiceRuntime
from meshkit.waiting import raise_if_cancelling, wait_until_set

log = logging.getLogger(__name__)
LOOP_KEY = "catalog.background"
CONCURRENT_HARVESTS = 4


class BackgroundLoop:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.poll_seconds = float(getattr(runtime.settings, "harvest_poll_seconds", 30.0))
        self.harvests: set[asyncio.Task[str | None]] = set()
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.warning("background tick failed; will retry", extra={"error": repr(exc)})
            await wait_until_set(self._wakeup, self.poll_seconds)

    async def tick(self) -> None:
        await imports.recover_interrupted(self.runtime)
        room = CONCURRENT_HARVESTS - len(self.harvests)
        if room <= 0:
            return
        for institution in await due_sources(self.runtime, room):
            task = asyncio.create_task(harvest_source(self.runtime, institution), name=f"harvest-{institution}")
            self.harvests.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[str | None]) -> None:
        self.harvests.discard(task)
        self.wake()  # a slot is free, and a run may have been requested meanwhile

    async def stop(self) -> None:
        for task in self.harvests:
            task.cancel()
        await asyncio.gather(*self.harvests, return_exceptions=True)


async def catalog_background(runtime: ServiceRuntime) -> None:
    """The service's background worker (meshkit `workers`): the loop while the settings ask for it; running
    imports are stopped when the service stops."""
    loop: BackgroundLoop | None = None
    try:
        if getattr(runtime.settings, "harvest_scheduler", True):
            loop = BackgroundLoop(runtime)
            runtime.extra[LOOP_KEY] = loop
            await loop.run()
        else:
            await asyncio.Event().wait()
    finally:
        if loop is not None:
            await loop.stop()
            runtime.extra.pop(LOOP_KEY, None)
        await imports.cancel_running(runtime)


def wake(runtime: ServiceRuntime) -> None:
    """Make the loop look for due harvests now (no-op when it does not run)."""
    loop: BackgroundLoop | None = runtime.extra.get(LOOP_KEY)
    if loop is not None:
        loop.wake()
