"""Parked messages on RabbitMQ: the dead-letter queue every subscription has, listing what it holds and replaying it
into the subscription's queue."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from meshkit.bus.amqp_messages import ATTEMPT_HEADER, ERROR_HEADER, FAILED_AT_HEADER, dead_letter
from meshkit.bus.transport import DeadLetter, Subscription


def quorum(**extra: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **extra}


# Listing parked messages counts as a delivery; RabbitMQ 4 gives quorum queues a default limit of 20, which would
# silently drop a parked message after twenty listings. An explicit, huge limit means the same on every release.
DEAD_LETTER_QUEUE_ARGUMENTS = quorum(**{"x-delivery-limit": 1_000_000})


async def declare_dead_letter_queue(channel: AbstractChannel, subscription: Subscription) -> aio_pika.abc.AbstractQueue:
    return await channel.declare_queue(subscription.dead_letter_queue, durable=True,
                                       arguments=DEAD_LETTER_QUEUE_ARGUMENTS)


async def list_parked(connection: AbstractRobustConnection, subscription: Subscription,
                      limit: int) -> list[DeadLetter]:
    """Up to `limit` parked messages of the subscription, oldest first; they stay parked."""
    channel = await connection.channel()
    parked: list[DeadLetter] = []
    ready = 0
    try:
        queue = await declare_dead_letter_queue(channel, subscription)
        ready = queue.declaration_result.message_count or 0
        while len(parked) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            parked.append(dead_letter(subscription.queue, message))
    finally:
        await channel.close()  # unacked messages go back to the queue, in order
    if parked:
        await _await_returned(connection, subscription, ready)
    return parked


async def replay_parked(connection: AbstractRobustConnection, subscription: Subscription,
                        message_ids: Sequence[str] | None) -> int:
    """Move parked messages (all, or those ids) back to the subscription's queue as first attempts; how many."""
    wanted = set(message_ids) if message_ids is not None else None
    channel = await connection.channel(publisher_confirms=True)
    replayed = 0
    ready = 0
    try:
        queue = await declare_dead_letter_queue(channel, subscription)
        # Only what is parked now: a replayed message that fails again is parked behind these and must not be
        # picked up again by this loop (it would cycle between the queues for as long as the loop runs).
        ready = remaining = queue.declaration_result.message_count or 0
        while remaining > 0:
            remaining -= 1
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            if wanted is not None and message.message_id not in wanted:
                continue  # left unacked: returned to the queue when the channel closes
            headers = {k: v for k, v in (message.headers or {}).items()
                       if k not in (ATTEMPT_HEADER, ERROR_HEADER, FAILED_AT_HEADER, "x-death")}
            await channel.default_exchange.publish(
                aio_pika.Message(body=message.body, headers=headers, message_id=message.message_id,
                                 content_type=message.content_type,
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=subscription.queue, timeout=30,
            )
            await message.ack()
            replayed += 1
    finally:
        await channel.close()
    if wanted is not None and ready > replayed:
        await _await_returned(connection, subscription, ready - replayed)  # the ones left unacked
    return replayed


async def _await_returned(connection: AbstractRobustConnection, subscription: Subscription, ready: int) -> None:
    # A quorum queue takes back a closed channel's unacked messages asynchronously; without this wait a replay
    # (or another listing) right after a listing may find the dead-letter queue empty and do nothing.
    channel = await connection.channel()
    deadline = asyncio.get_running_loop().time() + 2.0  # bounded: someone else may be replaying meanwhile
    try:
        while asyncio.get_running_loop().time() < deadline:
            queue = await channel.declare_queue(subscription.dead_letter_queue, passive=True)
            if (queue.declaration_result.message_count or 0) >= ready:
                return
            await asyncio.sleep(0.01)
    finally:
        await channel.close()
