"""Waiting on an event with a timeout, without losing a cancellation.

Python 3.11's `asyncio.wait_for` can swallow a cancellation that arrives just as the awaited event is set, which
left the outbox relay running after shutdown; `asyncio.timeout` does not.
"""

from __future__ import annotations

import asyncio


async def wait_until_set(event: asyncio.Event, seconds: float) -> bool:
    """True if `event` was set within `seconds`, False on timeout; a cancellation always propagates."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
