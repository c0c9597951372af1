"""A catalogue of N clusters from 20 institutions for the search benchmark, loaded into PostgreSQL and SQLite.

Titles, authors, subjects, publishers, years and languages come from real Library of Congress records (the pymarc
sample, `make testdata`); past the real records, titles are drawn word by word from the real titles' vocabulary
(so word frequencies stay realistic), and 5% of clusters get Chinese titles. Each cluster has one member record
per holding institution (1-4, skewed), one item each, 65% on the shelf. Rows go in with COPY on PostgreSQL
(indexes built afterwards) and with executemany on SQLite; the search documents are built by the same code ingest
uses (`build_document`) and written in each engine's own row format.
"""

from __future__ import annotations

import io
import json
import random
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pymarc

from bibliomesh_catalog.adapters.search import postgres_fts, sqlite_fts
from bibliomesh_catalog.adapters.search.documents import HoldingState, SearchDocument, build_document, is_available
from tests.support.testdata import loc_books

INSTITUTIONS = [f"BM-I{n:02d}" for n in range(1, 21)]
REGIONS = {code: [f"BM-R{(n - 1) // 5 + 1}"] for n, code in enumerate(INSTITUTIONS, 1)}
CHINESE_WORDS = ["中国", "历史", "文学", "经济", "社会", "人民", "共和国", "研究", "发展", "理论", "教育", "科学",
                 "技术", "管理", "文化", "哲学", "政治", "法律", "医学", "艺术", "地理", "语言", "思想", "近代",
                 "古代", "城市", "农村", "工业", "金融", "数学"]
_NOW = "2026-11-01 00:00:00+00"
_WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass
class Real:
    """What the benchmark borrows from the real records."""

    titles: list[str]
    authors: list[str]
    subjects: list[str]
    publishers: list[str]
    languages: list[str]
    words: list[str]  # every title word, with repetition: sampling keeps real frequencies


def read_loc(limit: int) -> Real:
    """Up to `limit` real LoC records."""
    real = Real([], [], [], [], [], [])
    with open(loc_books(), "rb") as handle:
        for number, record in enumerate(pymarc.MARCReader(handle, to_unicode=True, force_utf8=True,
                                                          utf8_handling="ignore")):
            if number >= limit:
                break
            if record is None or not record.title:
                continue
            title = record.title.rstrip(" /:;,.")
            real.titles.append(title)
            real.words.extend(_WORD.findall(title))
            real.authors.append((record.author or "").rstrip(" ,."))
            real.subjects.extend(s.format_field().rstrip(".") for s in record.subjects[:2])
            real.publishers.append((record.publisher or "").rstrip(" ,:"))
            field_008 = record.get("008")
            real.languages.append(field_008.data[35:38] if field_008 is not None and len(field_008.data) > 37
                                  else "eng")
    return real


@dataclass
class Cluster:
    """One generated cluster: its union record and items."""

    cluster_id: int
    format: str
    display: dict[str, Any]
    items: list[tuple[str, str, bool]]  # institution, status, ill_copy_allowed


def generate(count: int, real: Real, seed: int = 7) -> Iterator[Cluster]:
    """`count` clusters: the real records first, then synthetic ones from the real vocabulary."""
    rng = random.Random(seed)
    for cluster_id in range(1, count + 1):
        index = cluster_id - 1
        if rng.random() < 0.05:
            title = "".join(rng.choices(CHINESE_WORDS, k=rng.randint(2, 4))) + rng.choice(["史", "论", "研究", ""])
            language = "chi"
        elif index < len(real.titles):
            title, language = real.titles[index], real.languages[index]
        else:
            title = " ".join(rng.choices(real.words, k=rng.randint(2, 8))).capitalize()
            language = rng.choice(real.languages)
        electronic = rng.random() < 0.05
        holders = rng.sample(INSTITUTIONS, rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0])
        items = [(code, rng.choices(("available", "on_loan", "missing", "not_for_loan"),
                                    weights=(65, 25, 5, 5))[0], electronic) for code in holders]
        format_ = "electronic" if electronic else "print"
        display: dict[str, Any] = {"title": title, "authors": [rng.choice(real.authors)],
                                   "year": rng.randint(1900, 2025), "language": language, "format": format_,
                                   "publisher": rng.choice(real.publishers), "subjects": rng.sample(real.subjects, 2)}
        yield Cluster(cluster_id, format_, display, items)


def document(cluster: Cluster) -> SearchDocument:
    """The cluster's search document, as ingest's reindex would build it."""
    states = [HoldingState(code, is_available(status, cluster.format, ill)) for code, status, ill in cluster.items]
    return build_document(cluster.cluster_id, cluster.format, cluster.display, states)


def _text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list):
        value = "{" + ",".join(value) + "}"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_source(rows: list[tuple[Any, ...]]) -> io.BytesIO:
    return io.BytesIO("".join("\t".join(_text(v) for v in row) + "\n" for row in rows).encode())


class Rows:
    """The table rows of a batch of clusters, shared by both loaders (same ids everywhere)."""

    def __init__(self, batch: list[Cluster], first_record: int) -> None:
        self.clusters, self.records, self.holdings, self.documents = [], [], [], []
        record_id = first_record
        for cluster in batch:
            self.clusters.append((cluster.cluster_id, cluster.format, json.dumps(cluster.display, ensure_ascii=False),
                                  len(cluster.items), _NOW, 1))
            for number, (code, status, ill) in enumerate(cluster.items):
                self.records.append((record_id, code, f"{cluster.cluster_id}-{number}", cluster.format,
                                     cluster.display["title"], cluster.display["title"][:300].lower(),
                                     cluster.display["year"], "{}", "x", cluster.cluster_id, _NOW, _NOW, 1))
                self.holdings.append((record_id, record_id, code, f"item-{record_id}", status, cluster.format, ill,
                                      _NOW, 1))
                record_id += 1
            self.documents.append(document(cluster))
        self.next_record = record_id


CLUSTER_COLUMNS = ("id", "format", "display", "member_count", "updated_at", "version")
RECORD_COLUMNS = ("id", "institution", "local_id", "format", "title", "title_key", "year", "description",
                  "content_hash", "cluster_id", "created_at", "updated_at", "version")
HOLDING_COLUMNS = ("id", "record_id", "institution", "item_id", "status", "format", "ill_copy_allowed",
                   "updated_at", "version")
PG_SEARCH_INDEXES = ("ix_search_fts_docs_tsv", "ix_search_fts_docs_institutions", "ix_search_fts_docs_year",
                     "ix_search_fts_docs_title_sort")


async def postgres_load(conn: asyncpg.Connection, rows: Rows) -> None:
    """COPY one batch (foreign-key triggers off: the ids are consistent by construction)."""
    for table, columns, data in (("clusters", CLUSTER_COLUMNS, rows.clusters),
                                 ("records", RECORD_COLUMNS, rows.records),
                                 ("holdings", HOLDING_COLUMNS, rows.holdings),
                                 ("search_fts_docs", postgres_fts.COLUMNS,
                                  [postgres_fts.copy_row(d) for d in rows.documents])):
        await conn.copy_to_table(table, source=_copy_source(data), columns=list(columns), format="text")


def sqlite_load(conn: sqlite3.Connection, rows: Rows) -> None:
    """Insert one batch with executemany."""
    def insert(table: str, columns: tuple[str, ...], data: list[Any]) -> None:
        marks = ", ".join("?" for _ in columns)
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", data)  # noqa: S608

    insert("clusters", CLUSTER_COLUMNS, rows.clusters)
    insert("records", RECORD_COLUMNS, rows.records)
    insert("holdings", HOLDING_COLUMNS, rows.holdings)
    conn.executemany(sqlite_fts.INSERT_FTS, [sqlite_fts.fts_row(d) for d in rows.documents])
    conn.executemany(sqlite_fts.INSERT_DOCS, [sqlite_fts.docs_row(d) for d in rows.documents])


def holders_rows() -> list[tuple[Any, ...]]:
    """The 20 institutions in four regions."""
    return [(code, f"Library {code}", None, "university", None, json.dumps(REGIONS[code]), "active", 1)
            for code in INSTITUTIONS]


def sqlite_size(path: Path) -> int:
    """Bytes on disk of a SQLite database (with its WAL)."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
