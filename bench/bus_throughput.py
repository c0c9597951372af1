"""Event-bus throughput and latency, for each transport, against the transport's own publish rate in the same run.

Per transport (RabbitMQ with PostgreSQL; embedded with SQLite), each in a fresh bus and fresh databases:
  publish.transport       baseline: `transport.publish()` of pre-built messages, batches of 500 (what the relay calls)
  publish.raw_aio_pika    RabbitMQ only: plain aio-pika, persistent messages, confirms gathered per batch of 500
  relay.publish_pending   the relay alone: outbox pre-filled, `publish_pending()` looped until it is empty
  consume.drain           the consumer alone: queue pre-filled, `InboxHandler` inserting one row per event
  consume.drain_batched   the same consumer with `Consumer.batched` (the waiting events several to a transaction),
                          against `consume.drain`
  e2e.producer_commits    in that run, how fast the producer wrote its commits (the consumer catches up later)
  e2e.throughput          `UnitOfWork.publish()` + `commit()` -> relay -> bus -> consumer, first commit to last applied
  e2e.throughput_batched  the same with the batched consumer, against `e2e.throughput`
  latency.bus_*           baseline: `transport.publish()` of one message until a bare handler has it
  latency.e2e_*           one event at a time, from `commit()` returning to the consumer's transaction committed
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractQueue
from pamqp import commands

from bench.bus_env import (
    CONSUMER,
    KINDS,
    PRODUCER,
    RETRY,
    SUBSCRIPTION,
    BenchService,
    BusEnv,
    Kind,
    bus_env,
    institution_created,
    prebuilt_messages,
)
from bench.report import Measurement, median_of, percentile
from meshkit.bus import Delivery, OutgoingMessage, Transport

NAME = "bus"
DESCRIPTION = "event-bus throughput and latency (outbox -> relay -> transport -> inbox), both transports"
BATCH = 500


@dataclass(frozen=True)
class Params:
    events: int
    commit_size: int
    repeats: int
    latency_samples: int
    warmup: int = 20


FULL = Params(events=5_000, commit_size=50, repeats=5, latency_samples=200)
QUICK = Params(events=1_000, commit_size=50, repeats=3, latency_samples=50)


def _batches(messages: list[OutgoingMessage]) -> list[list[OutgoingMessage]]:
    return [messages[i:i + BATCH] for i in range(0, len(messages), BATCH)]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def _timed_publish(transport: Transport, messages: list[OutgoingMessage]) -> float:
    started = time.perf_counter()
    for batch in _batches(messages):
        await transport.publish(batch)
    return _rate(len(messages), time.perf_counter() - started)


async def _timed_raw_publish(exchange: AbstractExchange, messages: list[OutgoingMessage]) -> float:
    started = time.perf_counter()
    for batch in _batches(messages):
        confirms = await asyncio.gather(*(
            exchange.publish(aio_pika.Message(body=m.body, headers=dict(m.headers), message_id=m.message_id,
                                              content_type="application/json", type=m.routing_key,
                                              delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                             routing_key=m.routing_key, timeout=30)
            for m in batch))
        if not all(isinstance(c, commands.Basic.Ack) for c in confirms):
            raise RuntimeError("raw publish: a message was not confirmed")
    return _rate(len(messages), time.perf_counter() - started)


async def publish_side(kind: Kind, p: Params) -> list[Measurement]:
    """Raw aio-pika (RabbitMQ), `transport.publish()` and the relay, in interleaved rounds on one bus.

    Interleaving makes the machine's drift hit all three alike; each reports the median of its rounds. Everything
    is routed into the consumer's queue (declared, nobody consuming), as in the end-to-end run.
    """
    async with bus_env(kind) as env:
        transport = await _declare_consumer_queue(env)
        raw = await _raw_publisher(env)
        producer = await env.service(PRODUCER, start=False)
        warm = prebuilt_messages(2 * BATCH, start=9_000_000)
        await transport.publish(warm[:BATCH])
        if raw is not None:
            await _timed_raw_publish(raw[0], warm[BATCH:])
        await producer.publish(9_500_000, p.warmup)
        await producer.runtime.relay.publish_pending()  # connections open, statements prepared
        raw_rates: list[float] = []
        transport_rates: list[float] = []
        relay_rates: list[float] = []
        for r in range(p.repeats):
            first = (r + 1) * 1_000_000
            if raw is not None:
                raw_rates.append(await _timed_raw_publish(raw[0], prebuilt_messages(p.events, first)))
            transport_rates.append(await _timed_publish(transport, prebuilt_messages(p.events, first + 100_000)))
            for n in range(0, p.events, BATCH):
                await producer.publish(first + 200_000 + n, min(BATCH, p.events - n))
            relay_rates.append(await _timed_relay(producer, p.events))
            if raw is not None:
                await raw[1].purge()
    detail = {"events": p.events, "batch": BATCH}
    results = [
        Measurement(kind, "publish.transport", median_of(transport_rates), "events/s", samples=transport_rates,
                    baseline="publish.raw_aio_pika" if raw_rates else None, detail=detail),
        Measurement(kind, "relay.publish_pending", median_of(relay_rates), "events/s", samples=relay_rates,
                    baseline="publish.transport", detail=detail),
    ]
    if raw_rates:
        results.insert(0, Measurement(kind, "publish.raw_aio_pika", median_of(raw_rates), "events/s",
                                      samples=raw_rates, detail=detail))
    return results


async def _raw_publisher(env: BusEnv) -> tuple[AbstractExchange, AbstractQueue] | None:
    """For RabbitMQ: the meshkit exchange and the consumer's queue, on a plain aio-pika confirming channel."""
    if env.vhost is None:
        return None
    connection = await aio_pika.connect(env.vhost.url())
    env.closers.append(connection.close)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange("bibliomesh.events", ensure=False)
    return exchange, await channel.get_queue(SUBSCRIPTION.queue, ensure=False)


async def _timed_relay(producer: BenchService, events: int) -> float:
    started = time.perf_counter()
    while await producer.runtime.relay.publish_pending():
        pass
    elapsed = time.perf_counter() - started
    if left := await producer.unsent():
        raise RuntimeError(f"relay left {left} events unsent")
    return _rate(events, elapsed)


async def consumer_drain(kind: Kind, p: Params, batched: bool = False) -> Measurement:
    async with bus_env(kind) as env:
        transport = await _declare_consumer_queue(env)
        for batch in _batches(prebuilt_messages(p.events)):
            await transport.publish(batch)
        consumer = await env.service(CONSUMER, consumes=True, batched=batched)
        await env.clock.until_count(p.events, within=_timeout(p.events))
        rows, distinct = await consumer.applied_rows()
    times = sorted(env.clock.applied.values())
    _check_applied(rows, distinct, p.events)
    if batched:
        return Measurement(kind, "consume.drain_batched", _rate(p.events - 1, times[-1] - times[0]), "events/s",
                           baseline="consume.drain", detail={"events": p.events})
    return Measurement(kind, "consume.drain", _rate(p.events - 1, times[-1] - times[0]), "events/s",
                       baseline="publish.transport", detail={"events": p.events})


async def end_to_end(kind: Kind, p: Params, batched: bool = False) -> list[Measurement]:
    async with bus_env(kind) as env:
        consumer = await env.service(CONSUMER, consumes=True, batched=batched)
        producer = await env.service(PRODUCER)
        warm = await producer.publish(10_000_000, p.warmup)
        await env.clock.until_count(len(warm), within=60)
        started = time.perf_counter()
        for first in range(0, p.events, p.commit_size):
            await producer.publish(first, min(p.commit_size, p.events - first))
        committed = time.perf_counter()
        await env.clock.until_count(p.warmup + p.events, within=_timeout(p.events))
        finished = max(env.clock.applied.values())
        rows, distinct = await consumer.applied_rows()
    _check_applied(rows, distinct, p.warmup + p.events)
    detail = {"events": p.events, "commit_size": p.commit_size}
    if batched:
        return [Measurement(kind, "e2e.throughput_batched", _rate(p.events, finished - started), "events/s",
                            baseline="e2e.throughput", detail={**detail, "seconds": finished - started})]
    return [
        Measurement(kind, "e2e.producer_commits", _rate(p.events, committed - started), "events/s",
                    baseline="publish.transport", detail=detail),
        Measurement(kind, "e2e.throughput", _rate(p.events, finished - started), "events/s",
                    baseline="publish.transport", detail={**detail, "seconds": finished - started}),
    ]


async def bus_round_trip(kind: Kind, p: Params) -> list[Measurement]:
    async with bus_env(kind) as env:
        transport = env.transport()

        async def bare(delivery: Delivery) -> None:
            env.clock.mark(delivery.message_id)

        await transport.subscribe(SUBSCRIPTION, bare, RETRY)
        samples = []
        for n, message in enumerate(prebuilt_messages(p.warmup + p.latency_samples)):
            started = time.perf_counter()
            await transport.publish([message])
            applied = await env.clock.applied_at(message.message_id, within=30)
            if n >= p.warmup:
                samples.append((applied - started) * 1000)
    return _latencies(kind, "latency.bus", samples, baseline=None)


async def commit_to_applied(kind: Kind, p: Params) -> list[Measurement]:
    async with bus_env(kind) as env:
        await env.service(CONSUMER, consumes=True)
        producer = await env.service(PRODUCER)
        samples = []
        for n in range(p.warmup + p.latency_samples):
            async with producer.runtime.unit_of_work() as uow:
                envelope = uow.publish(institution_created(n), aggregate_id=f"BENCH-{n:06d}", aggregate_version=1)
                await uow.commit()
                committed = time.perf_counter()
            applied = await env.clock.applied_at(str(envelope.id), within=30)
            if n >= p.warmup:
                samples.append((applied - committed) * 1000)
    return _latencies(kind, "latency.e2e", samples, baseline="latency.bus")


def _latencies(kind: Kind, name: str, samples: list[float], baseline: str | None) -> list[Measurement]:
    return [
        Measurement(kind, f"{name}_p50", median_of(samples), "ms", samples=samples,
                    baseline=f"{baseline}_p50" if baseline else None, detail={"samples": len(samples)}),
        Measurement(kind, f"{name}_p99", percentile(samples, 99), "ms",
                    baseline=f"{baseline}_p99" if baseline else None, detail={"samples": len(samples)}),
    ]


async def _declare_consumer_queue(env: BusEnv) -> Transport:
    transport = env.transport()
    await transport.start()
    await transport.declare(SUBSCRIPTION, RETRY)
    return transport


def _timeout(events: int) -> float:
    return 60 + events / 20


def _check_applied(rows: int, distinct: int, expected: int) -> None:
    if rows != expected or distinct != expected:
        raise RuntimeError(f"consumer applied {rows} rows for {distinct} events; expected {expected} once each")


async def run(quick: bool = False) -> list[Measurement]:
    p = QUICK if quick else FULL
    results: list[Measurement] = []
    for kind in KINDS:
        results += await publish_side(kind, p)
        results.append(await consumer_drain(kind, p))
        results.append(await consumer_drain(kind, p, batched=True))
        results += await end_to_end(kind, p)
        results += await end_to_end(kind, p, batched=True)
        results += await bus_round_trip(kind, p)
        results += await commit_to_applied(kind, p)
    return results
