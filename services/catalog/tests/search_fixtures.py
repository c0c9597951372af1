"""Clusters, members, holdings and holders written straight into the tables, for the search, SRU and OpenURL tests.

Ingest is built in parallel; until it lands these rows stand in for what it stores, and `reindex_clusters` (the
seam ingest calls) builds the search documents from them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bibliomesh_catalog.adapters.search_index import reindex_clusters
from bibliomesh_catalog.adapters.tables import clusters, holders, holdings, records
from bibliomesh_catalog.bootstrap import MIGRATIONS, create_app
from bibliomesh_catalog.settings import CatalogSettings
from meshkit.db import create_engine, session_factory
from meshkit.migrations import upgrade_in_thread
from meshkit.testing import running
from tests.support.infra import postgres_database

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Item:
    """One holding of a member record."""

    institution: str
    item_id: str
    status: str = "available"
    format: str = "print"
    ill_copy_allowed: bool = False
    location: str | None = "Main stacks"
    call_number: str | None = None
    due_date: Any = None


@dataclass
class Book:
    """A cluster with its union record and the items its members hold."""

    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    language: str | None = "eng"
    format: str = "print"
    publisher: str | None = None
    subjects: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    oclc_numbers: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    marc: dict[str, Any] | None = None

    def display(self) -> dict[str, Any]:
        return {"title": self.title, "authors": self.authors, "year": self.year, "language": self.language,
                "format": self.format, "publisher": self.publisher, "subjects": self.subjects, "notes": self.notes,
                "isbns": self.isbns, "issns": self.issns, "oclc_numbers": self.oclc_numbers}


HOLDERS = [
    ("CN-DL-U1", "Dalian University Library", "大连大学图书馆", ["CN-LN-DL"]),
    ("CN-DL-U2", "Dalian Maritime University Library", None, ["CN-LN-DL"]),
    ("CN-SY-U1", "Shenyang University Library", None, ["CN-LN-SY"]),
]


async def add_holders(session: AsyncSession, rows: Iterable[tuple[str, str, str | None, list[str]]] = HOLDERS) -> None:
    """The directory copy: institution code, English and Chinese name, regions."""
    await session.execute(sa.insert(holders), [
        {"code": code, "name_en": name_en, "name_zh": name_zh, "kind": "university", "parent_code": None,
         "regions": regions, "status": "active", "version": 1} for code, name_en, name_zh, regions in rows])


async def add_book(session: AsyncSession, book: Book, *, index: bool = True) -> int:
    """Store a cluster, one member record per holding institution, their holdings; index it. Returns the id."""
    cluster_id = (await session.execute(sa.insert(clusters).values(
        work_id=None, format=book.format, display=book.display(), member_count=1, deleted_at=None,
        updated_at=NOW, version=1).returning(clusters.c.id))).scalar_one()
    by_institution: dict[str, list[Item]] = {}
    for item in book.items:
        by_institution.setdefault(item.institution, []).append(item)
    for institution, items in by_institution.items() or {"CN-DL-U1": []}.items():
        record_id = (await session.execute(sa.insert(records).values(
            institution=institution, local_id=f"{cluster_id}-{institution}", format=book.format,
            title=book.title, title_key=book.title.lower()[:300], author=(book.authors or [None])[0],
            author_key=None, year=book.year, language=book.language, description=book.display(),
            marc=json.dumps(book.marc) if book.marc else None, content_hash="x" * 64, cluster_id=cluster_id,
            match_key=None, deleted_at=None, created_at=NOW, updated_at=NOW, version=1,
        ).returning(records.c.id))).scalar_one()
        if items:
            await session.execute(sa.insert(holdings), [
                {"record_id": record_id, "institution": i.institution, "item_id": i.item_id, "location": i.location,
                 "call_number": i.call_number, "format": i.format, "status": i.status, "due_date": i.due_date,
                 "ill_copy_allowed": i.ill_copy_allowed, "updated_at": NOW, "version": 1} for i in items])
    if index:
        await reindex_clusters(session, [cluster_id])
    return int(cluster_id)


async def delete_cluster(session: AsyncSession, cluster_id: int) -> None:
    """Mark a cluster deleted as ingest does, and tell search."""
    await session.execute(sa.update(clusters).where(clusters.c.id == cluster_id).values(deleted_at=NOW))
    await reindex_clusters(session, [cluster_id])


async def set_status(session: AsyncSession, institution: str, item_id: str, status: str) -> None:
    """A circulation update as ingest applies it, then the reindex it triggers."""
    await session.execute(sa.update(holdings).where(holdings.c.institution == institution,
                                                    holdings.c.item_id == item_id).values(status=status))
    cluster_id = (await session.execute(
        sa.select(records.c.cluster_id).join(holdings, holdings.c.record_id == records.c.id)
        .where(holdings.c.institution == institution, holdings.c.item_id == item_id))).scalar_one()
    await reindex_clusters(session, [cluster_id])


@asynccontextmanager
async def migrated_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh catalogue database of `kind` (sqlite or postgresql), migrated to head; yields its URL."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.sqlite'}"
        await upgrade_in_thread(MIGRATIONS, url)
        yield url
        return
    async with postgres_database("bm_search") as url:
        await upgrade_in_thread(MIGRATIONS, url)
        yield url


@asynccontextmanager
async def database_session(url: str) -> AsyncIterator[AsyncSession]:
    """One session in one transaction on `url`, rolled back at the end."""
    engine: AsyncEngine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            yield session
            await session.rollback()
    finally:
        await engine.dispose()


@dataclass
class RunningCatalog:
    """The started app, a client calling it in-process, and the ids of the books stored."""

    http: httpx.AsyncClient
    ids: dict[str, int]
    app: FastAPI


@asynccontextmanager
async def catalog_client(kind: str, tmp_path: Path, books: dict[str, Book], public_url: str = "http://testserver",
                         ) -> AsyncIterator[RunningCatalog]:
    """The catalogue app in-process on a fresh database of `kind` (sqlite or postgresql), holding `books`."""
    async with AsyncExitStack() as stack:
        url = "" if kind == "sqlite" else await stack.enter_async_context(postgres_database("bm_search_api"))
        app = create_app(settings=CatalogSettings(data_dir=tmp_path, database_url=url, log_json=False,
                                                  public_url=public_url), migrate=True)
        client = await stack.enter_async_context(running(app))
        async with app.state.runtime.sessions() as session:
            await add_holders(session)
            ids = {name: await add_book(session, book) for name, book in books.items()}
            await session.commit()
        yield RunningCatalog(client, ids, app)
