"""A consumer's `together` handlers must be backed by one-at-a-time handlers (a failed batch goes through them) and
only make sense on a batched consumer: both mistakes are refused when the consumer is declared."""

from __future__ import annotations

from typing import Any

import pytest

from meshkit.bus import Subscription
from meshkit.consumers import Consumer

QUEUE = Subscription("reader.things", ("thing.#",))


async def one(_uow: Any, _envelope: Any, _payload: Any) -> None:
    pass


async def many(_uow: Any, _events: Any) -> None:
    pass


def test_a_type_handled_only_together_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no one-at-a-time handler for \['thing.moved'\]"):
        Consumer(QUEUE, {"thing.created": one}, batched=True, together={"thing.moved": many})


def test_together_handlers_on_a_consumer_that_is_not_batched_are_refused() -> None:
    with pytest.raises(ValueError, match="only by a batched consumer"):
        Consumer(QUEUE, {"thing.moved": one}, together={"thing.moved": many})


def test_a_batched_consumer_with_both_handlers_is_accepted() -> None:
    consumer = Consumer(QUEUE, {"thing.moved": one}, batched=True, together={"thing.moved": many})
    assert consumer.together["thing.moved"] is many
