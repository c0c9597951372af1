"""Catalogue ingest rate: parse + normalize + cluster + store (with events and search index) of real LoC MARC records,
against pymarc's own parse rate over the same bytes in the same run.

Per database (SQLite file, PostgreSQL database), fresh and migrated:
  pymarc.parse            baseline: `pymarc.MARCReader(to_unicode=True)` over the slice, records/s; measured
                          before the first load and after each one, the median of the five
  <db>.first_load         institution A loads the slice as an import does (`service_layer/imports.py`): the
                          service's parsing process reads the file a batch of 500 ahead, `ingest_records`
                          stores each batch, one commit per batch; each record carries one 852 item field
                          (LoC's records state none; the baseline parses the same bytes)
  <db>.overlapping_load   institution B loads an overlapping slice (half new, half A's records), so half of its
                          records join existing clusters through the full re-evaluation path

The heap is settled first (`meshkit.heap.settle_heap`), as every started service does after its startup, so the
ingest path runs here as it runs in the service.
"""

from __future__ import annotations

import io
import itertools
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

from pymarc import MARCReader

from bench.marc_bytes import local_id_of, records_of, with_item
from bench.report import Measurement, median_of
from bibliomesh_catalog.adapters.tables import messaging
from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.parsing.worker import ParsingWorker
from bibliomesh_catalog.service_layer.ingest import ingest_records, prepare_batch
from meshkit.db import create_engine, session_factory
from meshkit.heap import settle_heap
from meshkit.migrations import upgrade_in_thread
from meshkit.security import SYSTEM_PRINCIPAL
from meshkit.unit_of_work import UnitOfWork
from tests.support import testdata
from tests.support.infra import postgres_database

NAME = "ingest"
DESCRIPTION = "catalogue ingest rate (parse, normalize, cluster, store) vs pymarc's parse rate, SQLite and PostgreSQL"
BATCH = 500


def loc_records(count: int, skip: int = 0, items: bool = False) -> list[bytes]:
    """`count` raw records of the LoC file after the first `skip`; with `items`, each with an 852 item field
    (`item-<001>`), as a library's export states its items (LoC's records state none)."""
    with testdata.loc_books().open("rb") as stream:
        chunks = list(itertools.islice(records_of(stream), skip, skip + count))
    return [with_item(chunk, b"item-" + local_id_of(chunk).strip()) for chunk in chunks] if items else chunks


def loc_slice(count: int, skip: int = 0, items: bool = False) -> bytes:
    """`loc_records` back to back, as a file holds them."""
    return b"".join(loc_records(count, skip, items))


def pymarc_rate(data: bytes) -> float:
    started = time.perf_counter()
    count = sum(1 for _ in MARCReader(io.BytesIO(data), to_unicode=True))
    return count / (time.perf_counter() - started)


async def ingest_rate(url: str, path: Path, institution: str, worker: ParsingWorker) -> tuple[float, int]:
    """Records/s of one institution importing the file at `path`; and how many records it stored."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    stored = 0
    try:
        started = time.perf_counter()
        batches = worker.batches(read_marc, path, BATCH, prepare_batch)
        async with aclosing(batches):
            async for batch, _ in batches:
                async with UnitOfWork(sessions, messaging.outbox, "catalog") as uow:
                    results = await ingest_records(uow, institution, batch, SYSTEM_PRINCIPAL)
                    await uow.commit()
                stored += sum(1 for r in results if r.status != "rejected")
        return stored / (time.perf_counter() - started), stored
    finally:
        await engine.dispose()


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'catalog.sqlite'}"
            await upgrade_in_thread(MIGRATIONS, url)
            yield url
    else:
        async with postgres_database("bm_bench_ingest") as url:
            await upgrade_in_thread(MIGRATIONS, url)
            yield url


async def run(quick: bool) -> list[Measurement]:
    settle_heap()
    count = 4_000 if quick else 20_000
    first = loc_slice(count, items=True)
    # The baseline is measured before every load and its median taken: on a shared machine the load drifts
    # between the start of the run and its end.
    baselines = [pymarc_rate(first)]
    measurements = []
    worker = ParsingWorker()
    await worker.start()  # as in a running service, where the first import started it
    with tempfile.TemporaryDirectory() as folder:
        first_file, overlapping_file = Path(folder) / "first.mrc", Path(folder) / "overlapping.mrc"
        first_file.write_bytes(first)
        overlapping_file.write_bytes(loc_slice(count, skip=count // 2, items=True))
        try:
            for kind in ("sqlite", "postgresql"):
                async with database(kind) as url:
                    rate, stored = await ingest_rate(url, first_file, "BENCH-A", worker)
                    measurements.append(Measurement(kind, "first_load", rate, "records/s", baseline="pymarc.parse",
                                                    detail={"records": stored}))
                    baselines.append(pymarc_rate(first))
                    rate, stored = await ingest_rate(url, overlapping_file, "BENCH-B", worker)
                    measurements.append(Measurement(kind, "overlapping_load", rate, "records/s",
                                                    baseline="pymarc.parse",
                                                    detail={"records": stored, "shared_with_first": count // 2}))
                    baselines.append(pymarc_rate(first))
        finally:
            await worker.stop()
    return [Measurement("pymarc", "parse", median_of(baselines), "records/s", samples=baselines,
                        detail={"records": count}), *measurements]
