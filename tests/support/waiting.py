"""Bounded polling: wait for an outcome a user would see, never for a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    what: str,
    timeout: float = 20.0,
    interval: float = 0.05,
) -> T:
    """Call `probe` until `until(value)` holds and return that value; fail after `timeout` showing the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if until(value):
            return value
        if loop.time() >= deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}; last seen: {value!r}"[:4000], pytrace=False)
        await asyncio.sleep(interval)
