"""Search latency and throughput on a large union catalogue, on PostgreSQL and on SQLite, against the bare
full-text query on the same rows in the same run.

Per engine, on N clusters from 20 institutions (1,000,000; 100,000 with --quick; see search_env.py):
  build.load        clusters loaded per second (rows by COPY / executemany, search documents, then indexes)
  bare.p50 / p99    baseline: the ranked top-20 full-text query alone (MATCH + bm25 / @@ + ts_rank_cd)
  full.p50 / p99    `search_catalog()` as `GET /catalog/search` runs it: same words, plus the five facets over the
                    whole result, the page's union records and live holdings, and the holders' names
  bare/full.qps     throughput with 4 concurrent searches over the engine's connection pool
  *.common_p50/max  the worst case, outside the mix: the 10 most frequent title words alone ("the", "of", ...),
                    each matching a large part of the catalogue, whose facets count every match
Queries: 60% one title word (uniform over the real vocabulary, so mostly rare words and sometimes "the"), 20%
two words of one real title, 10% a Chinese word, 10% one word with a filter (available now, or a region).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from bench import search_env
from bench.report import Measurement, median_of, percentile
from bibliomesh_catalog.adapters.search import postgres_fts, sqlite_fts
from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.service_layer.search import SearchParams, build_query, search_catalog
from meshkit.db import create_engine, session_factory
from meshkit.migrations import upgrade_in_thread
from tests.support.infra import create_database, database_url, drop_database

NAME = "search"
DESCRIPTION = "catalogue search latency/throughput with facets and holdings vs bare full text, PostgreSQL and SQLite"
BATCH = 20_000


@dataclass(frozen=True)
class Params:
    """Sizes of one run."""

    clusters: int
    real_records: int
    queries: int
    throughput_queries: int


FULL = Params(clusters=1_000_000, real_records=250_000, queries=400, throughput_queries=400)
QUICK = Params(clusters=100_000, real_records=30_000, queries=150, throughput_queries=150)


def make_queries(real: search_env.Real, count: int, seed: int = 11) -> list[SearchParams]:
    """The query mix described in the module docstring."""
    rng = random.Random(seed)
    vocabulary = sorted({w.lower() for w in real.words})
    queries = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.6:
            queries.append(SearchParams(q=rng.choice(vocabulary)))
        elif kind < 0.8:
            words = [w for w in rng.choice(real.titles).split() if w.isalpha()] or [rng.choice(vocabulary)]
            start = rng.randrange(len(words))
            queries.append(SearchParams(q=" ".join(words[start:start + 2])))
        elif kind < 0.9:
            queries.append(SearchParams(q=rng.choice(search_env.CHINESE_WORDS)))
        elif rng.random() < 0.5:
            queries.append(SearchParams(q=rng.choice(vocabulary), available=True))
        else:
            queries.append(SearchParams(q=rng.choice(vocabulary), regions=["BM-R2"]))
    return queries


def _bare_sql(dialect: str, params: SearchParams) -> tuple[str, dict[str, Any]]:
    query = build_query(params)
    assert query is not None
    if dialect == "sqlite":
        return (f"SELECT rowid FROM search_fts WHERE search_fts MATCH :m ORDER BY {sqlite_fts.BM25} LIMIT 20",  # noqa: S608
                {"m": sqlite_fts.render_match(query)})
    return ("SELECT cluster_id FROM search_fts_docs WHERE tsv @@ CAST(:q AS tsquery) "
            "ORDER BY ts_rank_cd(tsv, CAST(:q AS tsquery), 1) DESC LIMIT 20",
            {"q": postgres_fts.render_tsquery(query)})


async def _timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    samples = []
    for call in calls:
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _throughput(calls: list[Callable[[], Awaitable[Any]]], workers: int = 4) -> float:
    pending = list(calls)

    async def worker() -> None:
        while pending:
            await pending.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(calls) / (time.perf_counter() - started)


def common_words(real: search_env.Real, count: int = 10) -> list[SearchParams]:
    """The most frequent words of the real titles, as one-word searches."""
    return [SearchParams(q=word) for word, _n in Counter(w.lower() for w in real.words).most_common(count)]


async def measure(group: str, url: str, queries: list[SearchParams], common: list[SearchParams], params: Params,
                  load_rate: float, detail: dict[str, Any]) -> list[Measurement]:
    """Latency and throughput of bare and full searches on a loaded database."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    dialect = engine.dialect.name

    def bare(p: SearchParams) -> Callable[[], Awaitable[Any]]:
        sql, binds = _bare_sql(dialect, SearchParams(q=p.q))

        async def call() -> Any:
            async with sessions() as session:
                return (await session.execute(sa.text(sql), binds)).all()
        return call

    def full(p: SearchParams) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            async with sessions() as session:
                return await search_catalog(session, p)
        return call

    try:
        await _timed([bare(q) for q in queries[:30]] + [full(q) for q in queries[:30]])  # warm caches and pools
        bare_ms = await _timed([bare(q) for q in queries])
        full_ms = await _timed([full(q) for q in queries])
        extra = queries[: params.throughput_queries]
        bare_qps = await _throughput([bare(q) for q in extra])
        full_qps = await _throughput([full(q) for q in extra])
        common_bare = await _timed([bare(q) for q in common])
        common_full = await _timed([full(q) for q in common])
        async with sessions() as session:
            documents = (await session.execute(sa.text("SELECT count(*) FROM search_fts_docs"))).scalar_one()
        detail.update({"documents": documents, "queries": len(queries), "slowest_full_ms": sorted(full_ms)[-5:],
                       "meets_targets": median_of(full_ms) < 30 and percentile(full_ms, 99) < 300})
    finally:
        await engine.dispose()
    return [
        Measurement(group, "build.load", load_rate, "clusters/s", detail=detail),
        Measurement(group, "bare.p50", median_of(bare_ms), "ms", samples=bare_ms),
        Measurement(group, "bare.p99", percentile(bare_ms, 99), "ms"),
        Measurement(group, "full.p50", median_of(full_ms), "ms", baseline="bare.p50", samples=full_ms),
        Measurement(group, "full.p99", percentile(full_ms, 99), "ms", baseline="bare.p99"),
        Measurement(group, "bare.qps", bare_qps, "searches/s"),
        Measurement(group, "full.qps", full_qps, "searches/s", baseline="bare.qps"),
        Measurement(group, "bare.common_p50", median_of(common_bare), "ms", samples=common_bare,
                    detail={"words": [q.q for q in common]}),
        Measurement(group, "full.common_p50", median_of(common_full), "ms", baseline="bare.common_p50",
                    samples=common_full),
        Measurement(group, "full.common_max", max(common_full), "ms"),
    ]


async def build_postgres(url: str, real: search_env.Real, params: Params) -> float:
    """Load N clusters by COPY with the search indexes dropped, then build them; returns clusters/s."""
    await upgrade_in_thread(MIGRATIONS, url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    started = time.perf_counter()
    try:
        await conn.execute("SET session_replication_role = replica; SET maintenance_work_mem = '1GB'")
        await conn.executemany("INSERT INTO holders (code, name_en, name_zh, kind, parent_code, regions, status, "
                               "version) VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8)", search_env.holders_rows())
        ddl = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE indexname = ANY($1)",
                               list(search_env.PG_SEARCH_INDEXES))
        for name in search_env.PG_SEARCH_INDEXES:
            await conn.execute(f"DROP INDEX {name}")
        record = 1
        batch: list[search_env.Cluster] = []
        for cluster in search_env.generate(params.clusters, real):
            batch.append(cluster)
            if len(batch) == BATCH:
                rows = search_env.Rows(batch, record)
                await search_env.postgres_load(conn, rows)
                record, batch = rows.next_record, []
        if batch:
            await search_env.postgres_load(conn, search_env.Rows(batch, record))
        for row in ddl:
            await conn.execute(row["indexdef"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return params.clusters / (time.perf_counter() - started)


def build_sqlite(path: Path, real: search_env.Real, params: Params) -> float:
    """Load N clusters with executemany (journal off during the load); returns clusters/s."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executemany("INSERT INTO holders (code, name_en, name_zh, kind, parent_code, regions, status, version) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", search_env.holders_rows())
        record = 1
        batch: list[search_env.Cluster] = []
        for cluster in search_env.generate(params.clusters, real):
            batch.append(cluster)
            if len(batch) == BATCH:
                rows = search_env.Rows(batch, record)
                search_env.sqlite_load(conn, rows)
                record, batch = rows.next_record, []
        if batch:
            search_env.sqlite_load(conn, search_env.Rows(batch, record))
        conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
        conn.commit()
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return params.clusters / (time.perf_counter() - started)


async def run(quick: bool) -> list[Measurement]:
    """Both engines, each on its own freshly built database, removed afterwards."""
    params = QUICK if quick else FULL
    real = search_env.read_loc(params.real_records)
    queries = make_queries(real, params.queries)
    common = common_words(real)
    measurements: list[Measurement] = []
    name = await create_database("bm_bench_search")
    try:
        url = database_url(name)
        rate = await build_postgres(url, real, params)
        measurements += await measure("postgresql", url, queries, common, params, rate, {"clusters": params.clusters})
    finally:
        await drop_database(name)
    with tempfile.TemporaryDirectory(prefix="bm-bench-search-") as tmp:
        path = Path(tmp) / "catalog.sqlite"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_in_thread(MIGRATIONS, url)
        rate = await asyncio.to_thread(build_sqlite, path, real, params)
        detail = {"clusters": params.clusters, "bytes": search_env.sqlite_size(path)}
        measurements += await measure("sqlite", url, queries, common, params, rate, detail)
    return measurements

