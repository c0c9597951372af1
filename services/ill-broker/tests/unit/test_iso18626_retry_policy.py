"""Retry pauses double up to a cap, and jitter spreads senders over the upper half of each pause."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bibliomesh_ill.iso18626.peer_client import RetryPolicy


def test_pauses_double_then_stop_at_the_cap() -> None:
    policy = RetryPolicy(first_delay_seconds=1, max_delay_seconds=5)
    assert [policy.delay(attempt, jitter=0.0) for attempt in range(1, 6)] == [0.5, 1, 2, 2.5, 2.5]
    assert [round(policy.delay(attempt, jitter=1.0), 3) for attempt in range(1, 6)] == [1, 2, 4, 5, 5]


@given(st.integers(1, 30), st.floats(0, 1, exclude_max=True))
def test_a_pause_stays_between_half_and_all_of_its_ceiling(attempt: int, jitter: float) -> None:
    policy = RetryPolicy(first_delay_seconds=0.5, max_delay_seconds=30)
    ceiling = min(30, 0.5 * 2 ** (attempt - 1))
    assert ceiling / 2 <= policy.delay(attempt, jitter) <= ceiling
