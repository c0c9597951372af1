"""What a transport promises, whichever one it is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from meshkit.waiting import raise_if_cancelling

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    routing_key: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscription:
    """A consumer's durable queue, named `<consumer>.<name>`, bound to topic patterns such as `directory.#`."""

    queue: str
    bindings: tuple[str, ...]

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between attempts; after the last one the message is parked in the dead-letter queue."""

    delays_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    # A message whose handler kills the process never reaches our retry code; the broker counts its deliveries.
    delivery_limit: int = 10
    # When a failed message cannot even be set aside for a retry (the broker refuses the copy: an alarm, a full or
    # missing retry queue), it goes back to its queue after this pause, doubled on each delivery, up to 30 s:
    # handing it back at once would spend its delivery limit in a second and park a message that could be retried.
    requeue_pause_seconds: float = 1.0

    @property
    def max_attempts(self) -> int:
        return len(self.delays_seconds) + 1

    def requeue_pause(self, earlier_deliveries: int) -> float:
        return float(min(self.requeue_pause_seconds * 2 ** min(earlier_deliveries, 16), 30.0))


@dataclass(frozen=True)
class Delivery:
    message_id: str
    routing_key: str
    body: bytes
    headers: dict[str, str]
    attempt: int
    queue: str


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    queue: str
    routing_key: str
    error: str
    failed_at: datetime | None
    attempts: int
    body: bytes


class PermanentFailure(Exception):
    """Retrying cannot help (the message is malformed or names an unknown type): park it at once."""


class PublishFailed(Exception):
    """The broker did not confirm every message; only those in `confirmed` may be marked sent.

    `refused` names the messages turned down on their own merits, with the reason: the broker answered no to that
    message (a nack, a size limit) or the client cannot encode it. Any other message in the batch failed for want of
    a working bus, or for a reason no single message can be blamed for.
    """

    def __init__(self, message: str, *, confirmed: Collection[str] = (),
                 refused: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.confirmed = frozenset(confirmed)
        self.refused = dict(refused or {})


Handler = Callable[[Delivery], Awaitable[None]]
# Applies several deliveries together, all or nothing: it raises if any of them cannot be applied.
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]


async def applied_together(batch_handler: BatchHandler, deliveries: Sequence[Delivery], queue: str) -> bool:
    """Whether `batch_handler` applied these deliveries; if it failed (and the consumer is not being stopped), the
    failure is logged and the transport is to apply them one at a time."""
    try:
        await batch_handler(deliveries)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise_if_cancelling(exc)
        log.warning("a batch of messages failed; applying them one at a time", extra={
            "queue": queue, "messages": len(deliveries), "error": repr(exc)[:1000]})
        return False
    return True


class Transport(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def check(self) -> None:
        """Raise if the bus cannot be reached (readiness)."""

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Return only when every message is durably accepted; raise PublishFailed otherwise, naming the messages
        that were accepted all the same and those refused on their own merits."""

    async def subscribe(self, subscription: Subscription, handler: Handler, retry: RetryPolicy,
                        batch_handler: BatchHandler | None = None) -> None:
        """Declare the queue and its bindings and start delivering to `handler` in order, one at a time.

        With `batch_handler`, messages already waiting in the queue that were never handed to a handler before
        (first attempts, not redelivered) go to it together, in order, up to the prefetch count. If it raises, each
        of them goes through `handler` one at a time instead, as if the batch had not been tried (it must leave no
        trace then), so a failing message gets its retries and parking alone. Retries and redeliveries always go
        one at a time: a message that crashed its consumer is not tried inside a batch again."""

    async def declare(self, subscription: Subscription, retry: RetryPolicy) -> None:
        """Declare the queue, its retry and dead-letter queues and bindings, without consuming."""

    async def dead_letters(self, subscription: Subscription, limit: int = 100) -> list[DeadLetter]: ...

    async def replay(self, subscription: Subscription, message_ids: Sequence[str] | None = None) -> int:
        """Move parked messages (all, or those ids) back to the queue; return how many."""


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
