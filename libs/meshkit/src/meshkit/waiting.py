"""Waiting on an event with a timeout, without losing a cancellation.

Python 3.11's `asyncio.wait_for` can swallow a cancellation that arrives just as the awaited event is set, which
left the outbox relay running after shutdown; `asyncio.timeout` does not.
"""

from __future__ import annotations

import asyncio


async def wait_until_set(event: asyncio.Event, seconds: float) -> bool:
    """True if `event` was set within `seconds`, False on timeout; a cancellation always propagates, including one
    that a library lost since the task's last wait: the task still counts it (`cancelling()`), and every loop that
    idles here then ends instead of waiting for a cancellation that will not come again. aiosmtplib awaits each
    server response through `asyncio.wait_for`, and the e-mail sender hung a service's stop this way."""
    if _cancelling():
        raise asyncio.CancelledError()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


def raise_if_cancelling(error: Exception) -> None:
    """For a retry loop's `except Exception`: an error raised while the task was being cancelled (a clean-up on the
    way out that failed, such as a last write to a locked file) stands in for that cancellation, so the loop must end
    instead of retrying. Otherwise the task runs on after shutdown cancelled it, and whatever awaits it hangs."""
    if _cancelling():
        raise asyncio.CancelledError() from error


def _cancelling() -> bool:
    """Whether the current task has a cancellation request it has not ended on (nor taken back, as a timeout does)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
