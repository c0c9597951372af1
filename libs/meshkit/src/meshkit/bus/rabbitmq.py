"""RabbitMQ transport: durable topic exchange, quorum queues, publisher confirms, TTL retry queues, dead-letter queues.

Everything is declared explicitly (delivery limit, dead-letter exchange and strategy) because Debian's RabbitMQ 3.10
and current releases differ in their defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection

from meshkit.bus.amqp_messages import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    ROUTING_KEY_HEADER,
    amqp_message,
    attempt_number,
    confirmed,
    delivery_of,
    first_delivery,
    refused_on_its_own,
)
from meshkit.bus.rabbitmq_parked import (
    declare_dead_letter_queue,
    list_parked,
    quorum,
    replay_parked,
)
from meshkit.bus.transport import (
    BatchHandler,
    DeadLetter,
    Delivery,
    Handler,
    OutgoingMessage,
    PermanentFailure,
    PublishFailed,
    RetryPolicy,
    Subscription,
    applied_together,
)
from meshkit.waiting import raise_if_cancelling

log = logging.getLogger(__name__)

UNROUTED = "bibliomesh.unrouted"


class RabbitMQTransport:
    def __init__(self, url: str, exchange: str = "bibliomesh.events", prefetch: int = 64) -> None:
        self.url = url
        self.exchange_name = exchange
        self.prefetch = prefetch
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._publish_lock = asyncio.Lock()
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self._connection is None:
            self._connection = await aio_pika.connect_robust(
                self.url, client_properties={"connection_name": "bibliomesh"})
            self._publish_channel = await self._connection.channel(publisher_confirms=True)
            await self._declare_exchanges(self._publish_channel)

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def check(self) -> None:
        # A robust connection that lost the broker is not `is_closed` while it tries to reconnect (that flag means
        # "closed by us"); its `connected` event is what says whether it is up now.
        if self._connection is None or self._connection.is_closed or not self._connection.connected.is_set():
            raise ConnectionError("not connected to RabbitMQ")

    async def _declare_exchanges(self, channel: AbstractChannel) -> aio_pika.abc.AbstractExchange:
        unrouted = await channel.declare_exchange(UNROUTED, aio_pika.ExchangeType.FANOUT, durable=True)
        # Events nobody subscribes to yet are kept (bounded) rather than silently dropped.
        queue = await channel.declare_queue(
            UNROUTED, durable=True, arguments=quorum(**{"x-max-length": 100_000, "x-overflow": "drop-head"})
        )
        await queue.bind(unrouted)
        return await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True, arguments={"alternate-exchange": UNROUTED}
        )

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        await self.start()
        assert self._publish_channel is not None
        async with self._publish_lock:
            await self._publish_channel_reopened()
            try:
                exchange = await self._publish_channel.get_exchange(self.exchange_name, ensure=False)
                confirms = [
                    exchange.publish(amqp_message(m), routing_key=m.routing_key, timeout=30) for m in messages
                ]
                results = await asyncio.gather(*confirms, return_exceptions=True)
            except Exception as exc:  # connection lost while publishing
                raise PublishFailed(str(exc)) from exc
        outcomes = list(zip(messages, results, strict=True))
        failures = [r for r in results if isinstance(r, BaseException) or not confirmed(r)]
        if failures:
            alone = len(messages) == 1
            raise PublishFailed(
                f"{len(failures)} of {len(messages)} messages not confirmed: {failures[0]!r}",
                confirmed=[m.message_id for m, r in outcomes if not isinstance(r, BaseException) and confirmed(r)],
                refused={m.message_id: repr(r)[:1000] for m, r in outcomes if refused_on_its_own(r, alone)},
            )

    async def _publish_channel_reopened(self) -> None:
        # The broker closes the channel over a message it refuses (406, e.g. too large), and the robust channel
        # reopens it a moment later: without this wait the next messages would fail for a reason that is not theirs.
        # Only while connected: during an outage, failing at once lets the relay back off.
        channel, connection = self._publish_channel, self._connection
        if channel is None or connection is None or not channel.is_closed or not connection.connected.is_set():
            return
        reopened = asyncio.Event()  # the channel's own `ready()` may not know yet that it was closed

        def on_reopen(_channel: AbstractRobustChannel | None, /) -> None:
            reopened.set()

        channel.reopen_callbacks.add(on_reopen)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reopened.wait(), 5)
        finally:
            channel.reopen_callbacks.discard(on_reopen)

    async def declare(self, subscription: Subscription, retry: RetryPolicy) -> None:
        await self.start()
        assert self._connection is not None
        channel = await self._connection.channel()
        try:
            await self._declare_topology(channel, subscription, retry)
        finally:
            await channel.close()

    async def _declare_topology(
        self, channel: AbstractChannel, subscription: Subscription, retry: RetryPolicy
    ) -> aio_pika.abc.AbstractQueue:
        exchange = await self._declare_exchanges(channel)
        await declare_dead_letter_queue(channel, subscription)
        for attempt, delay in enumerate(retry.delays_seconds, start=1):
            await channel.declare_queue(
                f"{subscription.queue}.retry.{attempt}",
                durable=True,
                arguments=quorum(**{
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": subscription.queue,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                }),
            )
        queue = await channel.declare_queue(
            subscription.queue,
            durable=True,
            arguments=quorum(**{
                "x-delivery-limit": retry.delivery_limit,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": subscription.dead_letter_queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }),
        )
        for pattern in subscription.bindings:
            await queue.bind(exchange, routing_key=pattern)
        return queue

    async def subscribe(self, subscription: Subscription, handler: Handler, retry: RetryPolicy,
                        batch_handler: BatchHandler | None = None) -> None:
        await self.start()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await self._declare_topology(channel, subscription, retry)
        inbound: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbound.put, no_ack=False)
        self._workers.append(asyncio.create_task(
            self._work(channel, subscription, inbound, handler, retry, batch_handler)))

    async def _work(
        self,
        channel: AbstractChannel,
        subscription: Subscription,
        inbound: asyncio.Queue[AbstractIncomingMessage],
        handler: Handler,
        retry: RetryPolicy,
        batch_handler: BatchHandler | None,
    ) -> None:
        # One message (or one batch) at a time, in arrival order, so events about one aggregate are applied in order.
        held: AbstractIncomingMessage | None = None  # taken from the queue, but not part of the batch before it
        while True:
            message = held if held is not None else await inbound.get()
            held = None
            together = [message]
            if batch_handler is not None and first_delivery(message):
                while len(together) < self.prefetch and not inbound.empty():
                    following = inbound.get_nowait()
                    if not first_delivery(following):
                        held = following
                        break
                    together.append(following)
            try:
                if len(together) > 1 and batch_handler is not None:
                    await self._handle_together(channel, subscription, together, handler, batch_handler, retry)
                else:
                    await self._handle(channel, subscription, message, handler, retry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                # The channel died under us: the broker redelivers whatever we did not ack.
                log.warning("lost channel while settling a message", exc_info=True, extra={"queue": subscription.queue})

    async def _handle_together(
        self,
        channel: AbstractChannel,
        subscription: Subscription,
        together: list[AbstractIncomingMessage],
        handler: Handler,
        batch_handler: BatchHandler,
        retry: RetryPolicy,
    ) -> None:
        """First deliveries to the batch handler, acknowledged once it applied them all; one at a time otherwise."""
        if not await applied_together(batch_handler, [delivery_of(subscription, message) for message in together],
                                      subscription.queue):
            for message in together:
                await self._handle(channel, subscription, message, handler, retry)
            return
        for message in together:
            await message.ack()

    async def _handle(
        self,
        channel: AbstractChannel,
        subscription: Subscription,
        message: AbstractIncomingMessage,
        handler: Handler,
        retry: RetryPolicy,
    ) -> None:
        delivery = delivery_of(subscription, message)
        headers = delivery.headers
        try:
            await handler(delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise_if_cancelling(exc)   # not the handler's failure: unacknowledged, the broker delivers it again
            try:
                await self._set_aside(channel, subscription, message, delivery, retry, exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not stored anywhere else: the broker must deliver it again. Its delivery limit bounds how often,
                # then dead-letters it itself, so the message is neither lost nor left holding a prefetch slot.
                # A quorum queue counts a message's earlier deliveries: the pause grows with them.
                pause = retry.requeue_pause(attempt_number(headers.get("x-delivery-count", "0")) or 0)
                log.error("could not forward a failed message; returned to its queue in %.1f s", pause,
                          exc_info=True, extra={"queue": subscription.queue, "message_id": delivery.message_id,
                                                "error": repr(exc)[:1000]})
                await asyncio.sleep(pause)
                await message.nack(requeue=True)
                return
        await message.ack()

    async def _set_aside(
        self,
        channel: AbstractChannel,
        subscription: Subscription,
        message: AbstractIncomingMessage,
        delivery: Delivery,
        retry: RetryPolicy,
        exc: Exception,
    ) -> None:
        if isinstance(exc, PermanentFailure) or delivery.attempt >= retry.max_attempts:
            await self._park(channel, subscription, message, delivery, repr(exc))
            return
        log.warning("handler failed, will retry", extra={"queue": subscription.queue, "attempt": delivery.attempt,
                                                         "error": repr(exc)})
        await self._forward(channel, f"{subscription.queue}.retry.{delivery.attempt}", message, delivery,
                            {ATTEMPT_HEADER: str(delivery.attempt + 1), ERROR_HEADER: repr(exc)[:1000]})

    async def _park(
        self,
        channel: AbstractChannel,
        subscription: Subscription,
        message: AbstractIncomingMessage,
        delivery: Delivery,
        error: str,
    ) -> None:
        log.error("message parked in dead-letter queue",
                  extra={"queue": subscription.queue, "message_id": delivery.message_id, "error": error})
        await self._forward(channel, subscription.dead_letter_queue, message, delivery, {
            ERROR_HEADER: error[:2000], FAILED_AT_HEADER: datetime.now(UTC).isoformat(),
        })

    @staticmethod
    async def _forward(
        channel: AbstractChannel, queue: str, message: AbstractIncomingMessage, delivery: Delivery,
        extra_headers: dict[str, str],
    ) -> None:
        headers: dict[str, Any] = {**delivery.headers, ROUTING_KEY_HEADER: delivery.routing_key, **extra_headers}
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            message_id=message.message_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        # A nack raises; an unroutable copy (its queue deleted) comes back as a returned message, not an ack.
        result = await channel.default_exchange.publish(copy, routing_key=queue, timeout=30)
        if not confirmed(result):
            raise PublishFailed(f"{queue} did not take the message: {result!r}"[:500])

    async def dead_letters(self, subscription: Subscription, limit: int = 100) -> list[DeadLetter]:
        await self.start()
        assert self._connection is not None
        return await list_parked(self._connection, subscription, limit)

    async def replay(self, subscription: Subscription, message_ids: Sequence[str] | None = None) -> int:
        await self.start()
        assert self._connection is not None
        return await replay_parked(self._connection, subscription, message_ids)
