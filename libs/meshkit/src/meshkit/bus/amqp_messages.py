"""How the RabbitMQ transport writes and reads AMQP messages: the headers it keeps its bookkeeping in, a message from
an outbox event, a publish result read as confirmed or refused, a delivery for the handler, and a parked message
read back."""

from __future__ import annotations

import logging
import struct
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from meshkit.bus.transport import DeadLetter, Delivery, OutgoingMessage, Subscription

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-bibliomesh-attempt"
ERROR_HEADER = "x-bibliomesh-error"
FAILED_AT_HEADER = "x-bibliomesh-failed-at"
ROUTING_KEY_HEADER = "x-bibliomesh-routing-key"


def amqp_message(m: OutgoingMessage) -> aio_pika.Message:
    return aio_pika.Message(
        body=m.body,
        headers=dict(m.headers),
        message_id=m.message_id,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        type=m.routing_key,
    )


def confirmed(result: Any) -> bool:
    from pamqp import commands

    return isinstance(result, commands.Basic.Ack)


def refused_on_its_own(result: object, alone: bool) -> bool:
    """Whether a message failed on its own merits rather than for want of a working broker."""
    if isinstance(result, aio_pika.exceptions.DeliveryError):
        return True  # nacked (or returned): the broker answered about this very message
    if isinstance(result, aio_pika.exceptions.ChannelPreconditionFailed):
        # The broker closes the channel over the message it refuses; every message in flight then fails with the
        # same error, so only one published alone can be blamed.
        return alone
    return isinstance(result, TypeError | ValueError | OverflowError | struct.error)  # cannot be encoded as AMQP


def attempt_number(header: object) -> int | None:
    """The attempt number a header carries, or None when it is not a positive integer."""
    try:
        attempt = int(str(header))
    except ValueError:
        return None
    return attempt if attempt >= 1 else None


def dead_letter(queue: str, message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    failed_at = headers.get(FAILED_AT_HEADER)
    error = headers.get(ERROR_HEADER)
    if error is None and headers.get("x-death"):
        error = ("delivery limit reached (the handler never finished: crash or timeout; or its failure could not be "
                 "set aside for a retry: see the consumer's log for this message id)")
    return DeadLetter(
        message_id=message.message_id or "",
        queue=queue,
        routing_key=str(headers.get(ROUTING_KEY_HEADER) or message.routing_key or ""),
        error=str(error or "unknown"),
        failed_at=datetime.fromisoformat(str(failed_at)) if failed_at else None,
        attempts=attempt_number(headers.get(ATTEMPT_HEADER, "1")) or 1,
        body=message.body,
    )


def delivery_of(subscription: Subscription, message: AbstractIncomingMessage) -> Delivery:
    """What the consumer's handler gets for a message from the subscription's queue."""
    headers = {k: str(v) for k, v in (message.headers or {}).items()}
    attempt = attempt_number(headers.get(ATTEMPT_HEADER, "1"))
    if attempt is None:
        # Our own forwards always write a number >= 1, so a foreign or hand-made header: the event itself may be
        # fine, so it gets the full retry budget (dead-lettering it would park a valid event for bookkeeping).
        log.warning("malformed attempt header, counted as the first attempt",
                    extra={"queue": subscription.queue, "message_id": message.message_id,
                           "attempt_header": headers[ATTEMPT_HEADER][:100]})
        attempt = 1
        headers[ATTEMPT_HEADER] = "1"
    return Delivery(
        message_id=message.message_id or "",
        routing_key=headers.get(ROUTING_KEY_HEADER) or message.routing_key or "",
        body=message.body,
        headers=headers,
        attempt=attempt,
        queue=subscription.queue,
    )


def first_delivery(message: AbstractIncomingMessage) -> bool:
    """Never handed to a consumer before: not a retry (which carries its attempt number) nor a redelivery."""
    return not message.redelivered and ATTEMPT_HEADER not in (message.headers or {})
