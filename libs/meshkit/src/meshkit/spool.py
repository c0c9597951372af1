"""A process's budget of bytes spooled to a local disk at once (uploads on their way), so that concurrent uploads
cannot fill the volume and get the pod evicted: an upload reserves before it writes, and releases when its file
goes. Counted in the process: the volume is the pod's own, and requests run on one event loop (no lock)."""

from __future__ import annotations

from collections.abc import Callable


class SpoolBudget:
    def __init__(self, total: int, refusal: Callable[[], Exception]) -> None:
        self.total = total
        self.used = 0
        self.refusal = refusal  # what a reservation that does not fit raises (a 503 with Retry-After)

    def reserve(self, wanted: int, *, or_less: bool = False) -> int:
        """Reserve `wanted` bytes, or with `or_less` as many as are left if fewer (a body of unknown length);
        returns how many were reserved."""
        left = self.total - self.used
        if left <= 0 or (wanted > left and not or_less):
            raise self.refusal()
        granted = min(wanted, left)
        self.used += granted
        return granted

    def release(self, size: int) -> None:
        self.used = max(0, self.used - size)
