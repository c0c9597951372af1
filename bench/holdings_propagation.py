"""How soon the broker's copy of holdings catches up after a library contributes records, with the broker's batched
consumer against the same consumer one event at a time (`CONSUMER_BATCHES` off) measured in the same run, on the
embedded platform (`make run`'s) and on the distributed one (a process per service, PostgreSQL and RabbitMQ):

  <mode>.catch_up.one_at_a_time   baseline: items per second from the first record posted to the last item in the
                                  broker's copy, every `catalog.holdings.changed` in a transaction of its own
  <mode>.catch_up.batched         the same with the consumer as deployed: the waiting events a batch to a
                                  transaction, their holdings written a few statements per batch
  <mode>.lag.*                    seconds from the last record stored to the broker's copy holding every item

Real Library of Congress records with one item each, posted as MARC to `POST /catalog/records` 500 at a time by a
library created for the run; each round starts a fresh platform (fresh files, databases and vhost). Rounds
alternate between the two consumers; the values are the medians.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.ingest_rate import loc_records
from bench.report import Measurement, median_of
from tests.e2e.platform import admin_headers, distributed_platform, embedded_platform
from tests.support.infra import database_url

NAME = "holdings"
DESCRIPTION = "the broker's copy of holdings catching up after a contribution: batched consumer vs one at a time"
LIBRARY = {"code": "CN-DL-BENCH", "name_en": "Benchmark Library", "kind": "public-library", "regions": ["CN-LN-DL"]}
PER_CALL = 500


BrokerItems = Callable[[], Awaitable[int]]


@asynccontextmanager
async def platform_in(mode: str, folder: Path, batches: bool) -> AsyncIterator[tuple[str, BrokerItems]]:
    """A fresh platform: its URL, and how many items the broker's copy holds."""
    if mode == "embedded":
        async with embedded_platform(folder, consumer_batches=batches) as embedded:
            async def in_file() -> int:
                with sqlite3.connect(f"file:{folder / 'ill.sqlite'}?mode=ro", uri=True) as db:
                    return int(db.execute("SELECT count(*) FROM holdings").fetchone()[0])

            yield embedded.public_url, in_file
        return
    async with distributed_platform(folder, ILL_CONSUMER_BATCHES=str(batches).lower()) as distributed:
        engine = create_async_engine(database_url(distributed.databases["ill"]))

        async def in_database() -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(sa.text("SELECT count(*) FROM holdings")) or 0)

        try:
            yield distributed.url, in_database
        finally:
            await engine.dispose()


async def one_round(mode: str, chunks: list[bytes], items: int, batches: bool) -> tuple[float, float]:
    """(items per second from the first post to the last item in the broker's copy, seconds after the last
    store)."""
    with tempfile.TemporaryDirectory() as folder:
        async with platform_in(mode, Path(folder), batches) as (url, broker_items), \
                httpx.AsyncClient(base_url=url, timeout=300) as client:
            admin = await admin_headers(client)
            (await client.post("/auth/institutions", json=LIBRARY, headers=admin)).raise_for_status()
            headers = {**admin, "Content-Type": "application/marc"}
            while True:  # until the catalogue learnt the library from the directory's event
                probe = await client.post("/catalog/records", content=b"", params={"institution": LIBRARY["code"]},
                                          headers=headers)
                if probe.status_code != 409:
                    break
                await asyncio.sleep(0.1)
            started = time.perf_counter()
            for chunk in chunks:
                answer = await client.post("/catalog/records", content=chunk, params={"institution": LIBRARY["code"]},
                                           headers=headers)
                answer.raise_for_status()
            stored = time.perf_counter()
            deadline = stored + 600
            while (held := await broker_items()) < items:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the broker holds {held} of {items} items after 10 minutes")
                await asyncio.sleep(0.05)
            done = time.perf_counter()
    return items / (done - started), done - stored


async def run(quick: bool) -> list[Measurement]:
    count = 1_000 if quick else 4_000
    records = loc_records(count, items=True)
    chunks = [b"".join(records[start:start + PER_CALL]) for start in range(0, count, PER_CALL)]
    measurements = []
    # The distributed platform takes half a minute to start: one round each way there.
    for mode, rounds in (("embedded", 1 if quick else 3), ("distributed", 1)):
        rates: dict[bool, list[float]] = {False: [], True: []}
        lags: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for batches in (False, True):
                rate, lag = await one_round(mode, chunks, count, batches)
                rates[batches].append(rate)
                lags[batches].append(lag)
        detail = {"records": count, "items": count, "rounds": rounds}
        measurements += [
            Measurement(mode, "catch_up.one_at_a_time", median_of(rates[False]), "items/s", samples=rates[False],
                        detail=detail),
            Measurement(mode, "catch_up.batched", median_of(rates[True]), "items/s",
                        baseline="catch_up.one_at_a_time", samples=rates[True], detail=detail),
            Measurement(mode, "lag.one_at_a_time", median_of(lags[False]), "s", samples=lags[False]),
            Measurement(mode, "lag.batched", median_of(lags[True]), "s", baseline="lag.one_at_a_time",
                        samples=lags[True]),
        ]
    return measurements
