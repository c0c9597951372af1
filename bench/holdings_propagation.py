"""How soon the broker's copy of holdings catches up after a library contributes records, on the embedded platform
(`make run`'s), with the broker's batched consumer against the same consumer one event at a time
(`CONSUMER_BATCHES` off) measured in the same run:

  embedded.catch_up.one_at_a_time   baseline: items per second from the first record posted to the last item in the
                                    broker's copy, every `catalog.holdings.changed` in a transaction of its own
  embedded.catch_up.batched         the same with the consumer as deployed: the waiting events a batch to a
                                    transaction, their holdings written a few statements per batch
  embedded.lag.*                    seconds from the last record stored to the broker's copy holding every item

Real Library of Congress records with one item each, posted as MARC to `POST /catalog/records` 500 at a time by a
library created for the run; each round starts a fresh platform in a fresh directory. Rounds alternate between the
two consumers; the values are the medians.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from bench.ingest_rate import loc_slice
from bench.report import Measurement, median_of
from tests.e2e.platform import admin_headers, embedded_platform

NAME = "holdings"
DESCRIPTION = "the broker's copy of holdings catching up after a contribution: batched consumer vs one at a time"
LIBRARY = {"code": "CN-DL-BENCH", "name_en": "Benchmark Library", "kind": "public-library", "regions": ["CN-LN-DL"]}
PER_CALL = 500


def marc_chunks(data: bytes, per_chunk: int) -> list[bytes]:
    """`data` (MARC records back to back) in pieces of `per_chunk` records."""
    chunks, start = [], 0
    while start < len(data):
        end, count = start, 0
        while count < per_chunk and end < len(data):
            end += int(data[end:end + 5])
            count += 1
        chunks.append(data[start:end])
        start = end
    return chunks


def broker_items(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / 'ill.sqlite'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM holdings").fetchone()[0])


async def one_round(chunks: list[bytes], items: int, batches: bool) -> tuple[float, float]:
    """(items per second from the first post to the last item in the broker's copy, seconds after the last
    store)."""
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        async with embedded_platform(data_dir, consumer_batches=batches) as platform, \
                httpx.AsyncClient(base_url=platform.public_url, timeout=300) as client:
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
            while broker_items(data_dir) < items:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the broker holds {broker_items(data_dir)} of {items} items after 10 minutes")
                await asyncio.sleep(0.05)
            done = time.perf_counter()
    return items / (done - started), done - stored


async def run(quick: bool) -> list[Measurement]:
    count, rounds = (1_000, 1) if quick else (4_000, 3)
    chunks = marc_chunks(loc_slice(count, items=True), PER_CALL)
    rates: dict[bool, list[float]] = {False: [], True: []}
    lags: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for batches in (False, True):
            rate, lag = await one_round(chunks, count, batches)
            rates[batches].append(rate)
            lags[batches].append(lag)
    detail = {"records": count, "items": count, "rounds": rounds}
    return [
        Measurement("embedded", "catch_up.one_at_a_time", median_of(rates[False]), "items/s",
                    samples=rates[False], detail=detail),
        Measurement("embedded", "catch_up.batched", median_of(rates[True]), "items/s",
                    baseline="catch_up.one_at_a_time", samples=rates[True], detail=detail),
        Measurement("embedded", "lag.one_at_a_time", median_of(lags[False]), "s", samples=lags[False]),
        Measurement("embedded", "lag.batched", median_of(lags[True]), "s", baseline="lag.one_at_a_time",
                    samples=lags[True]),
    ]
