"""Pauses between delivery attempts: exponential, capped, with jitter so retries from many failures spread out."""

from __future__ import annotations

import random
from datetime import timedelta


def retry_pause(attempts: int, first_seconds: float, max_seconds: float, rng: random.Random | None = None
                ) -> timedelta:
    """The pause after the `attempts`-th failed try: first * 2^(attempts-1), capped, then 50-100% of that."""
    base = min(max_seconds, first_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * (0.5 + (rng or random).random() / 2))
