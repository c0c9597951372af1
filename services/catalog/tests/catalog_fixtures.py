"""A running catalogue for the ingest, clustering and holdings tests, and MARC records to feed it."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymarc
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from bibliomesh_catalog.adapters.tables import holders, messaging
from bibliomesh_catalog.bootstrap import create_app
from bibliomesh_catalog.settings import CatalogSettings
from meshkit.testing import TokenFactory, running, trust
from tests.support import testdata

WRITE = ("catalog:write",)
LIBRARIES = ("LIB-A", "LIB-B", "LIB-C", "LIB-H", "CN-DL-U1", "CN-DL-U2", "CN-SY-U1", "CN-DL-BNU", "CN-DL-LHU-LAW",
             "US-DLC")
"""The institutions a test catalogue's directory copy knows from the start (writes for others are refused with 409
until a directory event announces them)."""


@dataclass
class Catalog:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: TokenFactory

    def headers(self, institution: str, scopes: tuple[str, ...] = WRITE, roles: tuple[str, ...] = ("staff",)
                ) -> dict[str, str]:
        return self.tokens.headers(institution, scopes=scopes, roles=roles)

    async def post(self, institution: str, body: bytes, content_type: str = "application/marc",
                   **params: str) -> httpx.Response:
        return await self.client.post("/catalog/records", content=body, params=params,
                                      headers={**self.headers(institution), "content-type": content_type})

    async def upload(self, institution: str, body: bytes, content_type: str = "application/marc",
                     **params: str) -> dict[str, Any]:
        response = await self.post(institution, body, content_type, **params)
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every event this catalogue wrote to its outbox (published or not), oldest first."""
        query = sa.select(messaging.outbox.c.body).order_by(messaging.outbox.c.id)
        if event_type:
            query = query.where(messaging.outbox.c.event_type == event_type)
        async with self.app.state.runtime.engine.connect() as conn:
            return [json.loads(body) for body in (await conn.execute(query)).scalars()]

    async def scalar(self, statement: Any) -> Any:
        async with self.app.state.runtime.engine.connect() as conn:
            return await conn.scalar(statement)


@asynccontextmanager
async def catalog(data_dir: Path, database_url: str = "", directory: Iterable[str] = LIBRARIES,
                  **settings: Any) -> AsyncIterator[Catalog]:
    """A migrated catalogue on SQLite under `data_dir` (or `database_url`) trusting a throwaway token issuer, whose
    directory copy knows the institutions of `directory`; `settings` override other `CatalogSettings`."""
    app = create_app(CatalogSettings(data_dir=data_dir, database_url=database_url, log_json=False, **settings),
                     migrate=True)
    tokens = TokenFactory()
    trust(app, tokens)
    async with running(app) as client:
        await know(app.state.runtime.engine, directory)
        yield Catalog(app, client, tokens)


async def know(engine: AsyncEngine, codes: Iterable[str]) -> None:
    """Write directory rows straight into the catalogue's copy, as if auth had announced these institutions. At
    version 0, so that any directory event a test publishes (version 1 and up) replaces them. Codes the copy holds
    already (a second replica on the same database) are left as they are."""
    async with engine.begin() as conn:
        known = set((await conn.execute(sa.select(holders.c.code))).scalars())
        rows: list[dict[str, Any]] = [
            {"code": code, "name_en": f"Library {code}", "name_zh": None, "kind": "university", "parent_code": None,
             "regions": [], "status": "active", "version": 0} for code in dict.fromkeys(codes) if code not in known]
        if rows:
            await conn.execute(sa.insert(holders), rows)


def loc_records(count: int, skip: int = 0) -> list[bytes]:
    """`count` raw records of the Library of Congress file, after the first `skip`."""
    chunks: list[bytes] = []
    with testdata.loc_books().open("rb") as stream:
        for index in itertools.count():
            head = stream.read(5)
            if not head or len(chunks) >= count:
                break
            body = stream.read(int(head) - 5)
            if index >= skip:
                chunks.append(head + body)
    return chunks


def local_id_of(raw: bytes) -> str:
    record = pymarc.Record(raw)
    field = record.get("001")
    assert field is not None and field.data
    return field.data.strip()


def marc_record(local_id: str, title: str, *, isbns: tuple[str, ...] = (), author: str | None = None,
                year: int | None = 2001, part: str | None = None, electronic: bool = False,
                items: tuple[tuple[str, ...], ...] = (), subtitle: str | None = None) -> bytes:
    """A small UTF-8 MARC record; `items` are 952 fields given as (code, value, code, value, ...)."""
    record = pymarc.Record(force_utf8=True)
    date = f"{year:04d}" if year else "uuuu"
    form = "o" if electronic else " "
    record.add_field(pymarc.Field(tag="001", data=local_id))
    control = f"010101s{date}    xx {' ' * 5}{form}{' ' * 11}eng d"  # 008/23 form of item, 008/35 language
    record.add_field(pymarc.Field(tag="008", data=control))
    for isbn in isbns:
        record.add_field(pymarc.Field(tag="020", indicators=pymarc.Indicators(" ", " "),
                                      subfields=[pymarc.Subfield("a", isbn)]))
    if author:
        record.add_field(pymarc.Field(tag="100", indicators=pymarc.Indicators("1", " "),
                                      subfields=[pymarc.Subfield("a", author)]))
    subfields = [pymarc.Subfield("a", title)]
    if subtitle:
        subfields.append(pymarc.Subfield("b", subtitle))
    if part:
        subfields.append(pymarc.Subfield("n", part))
    record.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"), subfields=subfields))
    for item in items:
        pairs = [pymarc.Subfield(item[i], item[i + 1]) for i in range(0, len(item), 2)]
        record.add_field(pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "), subfields=pairs))
    result: bytes = record.as_marc21()
    return result
