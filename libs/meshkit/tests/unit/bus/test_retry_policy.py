"""How often a failing message is tried again before it is parked, and where it is parked."""

from __future__ import annotations

import dataclasses

import pytest

from meshkit.bus import RetryPolicy, Subscription


def test_each_delay_is_one_more_attempt_after_the_first() -> None:
    assert RetryPolicy(delays_seconds=(0.2, 0.4)).max_attempts == 3
    assert RetryPolicy(delays_seconds=()).max_attempts == 1  # no retries: parked on the first failure


def test_default_policy_backs_off_and_bounds_deliveries() -> None:
    policy = RetryPolicy()
    assert list(policy.delays_seconds) == sorted(policy.delays_seconds)
    assert policy.max_attempts == len(policy.delays_seconds) + 1
    # The broker's delivery limit must outlast the retry attempts, or a slow handler is parked too early.
    assert policy.delivery_limit > policy.max_attempts


def test_policy_cannot_be_changed_once_built() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.delivery_limit = 1  # type: ignore[misc]


def test_dead_letter_queue_is_named_after_the_queue() -> None:
    subscription = Subscription("circulation.directory", ("directory.#",))
    assert subscription.dead_letter_queue == "circulation.directory.dlq"


def test_a_message_that_cannot_be_set_aside_is_handed_back_after_a_pause_that_doubles_up_to_half_a_minute() -> None:
    policy = RetryPolicy(requeue_pause_seconds=1.0)
    assert [policy.requeue_pause(n) for n in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.requeue_pause(10_000) == 30.0
