"""A circuit breaker per service: while a service is down, calls to it are refused at once instead of waiting.

Closed: calls go through; `failure_threshold` connection failures or timeouts in a row open it. Open: every call
is answered 503 at once for `open_seconds`. Then half-open: one call goes through as a probe (the others are
still refused); its success closes the breaker, its failure opens it again. An answer of any HTTP status is a
success here: the service is up, whatever it said. An answer the gateway cannot read counts neither way (the proxy
`release`s it): a caller can provoke one at will (a service repeating a huge value in a header), so it must not
open the breaker for everyone, nor close one that timeouts opened.
"""

from __future__ import annotations

import time
from enum import Enum


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, open_seconds: float = 5.0) -> None:
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.failures = 0
        self.opened_at = 0.0
        self.probing = False

    @property
    def state(self) -> State:
        if self.failures < self.failure_threshold:
            return State.CLOSED
        if time.monotonic() - self.opened_at < self.open_seconds:
            return State.OPEN
        return State.HALF_OPEN

    def allow(self) -> bool:
        """May a call go through now? In half-open state, True once: that call is the probe."""
        if self.failures < self.failure_threshold:  # closed: the answer for nearly every call, checked first
            return True
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def retry_after(self) -> int:
        """Seconds until the next probe may go through (at least 1)."""
        return max(1, int(self.open_seconds - (time.monotonic() - self.opened_at) + 0.999))

    def succeeded(self) -> None:
        self.failures = 0
        self.probing = False

    def release(self) -> None:
        """The call ended with neither answer nor failure (the caller left): a probe slot is free again."""
        self.probing = False

    def failed(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.failure_threshold:
            self.failures = max(self.failures, self.failure_threshold)
            self.opened_at = time.monotonic()
        self.probing = False
