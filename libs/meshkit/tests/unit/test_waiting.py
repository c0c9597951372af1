"""`raise_if_cancelling`: an error stands for a cancellation only while one is pending."""

from __future__ import annotations

import asyncio

import pytest

from meshkit.waiting import raise_if_cancelling, wait_until_set


async def test_an_error_raised_while_cancelled_becomes_the_cancellation() -> None:
    async def clean_up_fails() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            try:
                raise RuntimeError("database is locked") from None
            except RuntimeError as exc:
                raise_if_cancelling(exc)
                raise AssertionError("the loop would have retried") from exc

    task = asyncio.create_task(clean_up_fails())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_an_ordinary_error_or_an_expired_wait_is_not_a_cancellation() -> None:
    raise_if_cancelling(RuntimeError("a plain failure"))   # nothing pending: no effect
    assert await wait_until_set(asyncio.Event(), 0.01) is False   # its own cancellation was taken back
    raise_if_cancelling(RuntimeError("after a timeout"))


async def test_a_loop_ends_at_its_next_wait_when_a_library_lost_its_cancellation() -> None:
    """As Python 3.11's `asyncio.wait_for` does when the cancellation arrives as what it awaits completes: the
    library returns normally and the task's loop goes on to its next wait."""
    busy = asyncio.Event()

    async def library_call() -> None:
        busy.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return   # lost: the answer came in at the same moment

    async def sender_loop() -> None:
        while True:
            await library_call()
            await wait_until_set(asyncio.Event(), 0.01)

    task = asyncio.create_task(sender_loop())
    await busy.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=30)
    if task not in done:   # without the fix: the loop goes on; cancel it again so the failing test ends
        task.cancel()
    assert task in done, "the loop waited on after its cancellation was lost"
    assert task.cancelled()
