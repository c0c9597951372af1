"""A retry budget: retries may add at most `ratio` of the calls made over the last 10 seconds (plus a small
`minimum`), so that retries never multiply the load on a service that is already failing."""

from __future__ import annotations

import time

WINDOW_SECONDS = 10


class RetryBudget:
    def __init__(self, ratio: float = 0.2, minimum: int = 10) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self._calls = [0] * WINDOW_SECONDS
        self._retries = [0] * WINDOW_SECONDS
        self._second = 0

    def _advance(self) -> int:
        now = int(time.monotonic())
        if now != self._second:
            for second in range(max(self._second + 1, now - WINDOW_SECONDS + 1), now + 1):
                self._calls[second % WINDOW_SECONDS] = 0
                self._retries[second % WINDOW_SECONDS] = 0
            self._second = now
        return now % WINDOW_SECONDS

    def record_call(self) -> None:
        self._calls[self._advance()] += 1

    def try_spend(self) -> bool:
        """True (and counted) if one more retry fits in the budget."""
        slot = self._advance()
        if sum(self._retries) >= self.minimum + self.ratio * sum(self._calls):
            return False
        self._retries[slot] += 1
        return True
