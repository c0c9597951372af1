"""`insert_many` and `update_many` store exactly what SQLAlchemy's own statements store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from meshkit.bulk import JsonText, insert_many, update_many
from meshkit.db import new_metadata, session_factory
from tests.support.infra import engine_with

pytestmark = pytest.mark.integration

metadata = new_metadata()
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("doc", sa.JSON, nullable=True),
    sa.Column("flag", sa.Boolean, nullable=True),
    sa.Column("day", sa.Date, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("n", sa.Integer, nullable=False),
)
NOW = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)


def _rows(start: int) -> list[dict[str, Any]]:
    shared = {"title": "中华人民共和国史", "n": [1, 2.5, None]}
    return [{"id": start + i, "name": f"thing '{i}\"", "doc": shared if i % 2 else {"i": i}, "flag": i % 3 == 0,
             "day": date(2026, 1, 1 + i), "at": NOW} for i in range(5)] + [
        {"id": start + 9, "name": "nulls", "doc": None, "flag": None, "day": None, "at": NOW}]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_json_serialized_beforehand_is_stored_as_the_column_would_serialize_it(kind: str, tmp_path: Path) -> None:
    doc = {"title": "中华人民共和国史", "quote": 'say "hi"', "n": [1, 2.5, None]}
    async with engine_with(metadata, kind, tmp_path, "bm_bulk") as engine:
        async with session_factory(engine)() as session, session.begin():
            await insert_many(session, things, [
                {"id": 1, "name": "as a dict", "doc": doc, "flag": None, "day": None, "at": NOW},
                {"id": 2, "name": "as JSON text", "doc": JsonText(json.dumps(doc)), "flag": None, "day": None,
                 "at": NOW}])
        async with engine.connect() as conn:
            stored = list((await conn.execute(sa.select(things.c.doc).order_by(things.c.id))).scalars())
            raw = list((await conn.execute(sa.select(sa.cast(things.c.doc, sa.Text)).order_by(things.c.id)))
                       .scalars())
    assert stored == [doc, doc]  # not a JSON string holding the text
    assert raw[0] == raw[1]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_insert_many_stores_what_a_plain_insert_stores(kind: str, tmp_path: Path) -> None:
    async with engine_with(metadata, kind, tmp_path, "bm_bulk") as engine:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(sa.insert(things), _rows(0))
            await insert_many(session, things, _rows(100))
            await insert_many(session, things, [])
            await insert_many(session, events, [{"n": n} for n in range(700)])
        async with engine.connect() as conn:
            order = list((await conn.execute(sa.select(events.c.n).order_by(events.c.id))).scalars())
            stored = (await conn.execute(sa.select(things).order_by(things.c.id))).mappings().all()
            raw = (await conn.execute(sa.select(sa.cast(things.c.doc, sa.Text)).order_by(things.c.id))).scalars()
            texts = list(raw)
    assert order == list(range(700))  # generated ids follow the rows' order (the outbox relies on it)
    plain, bulk = stored[:6], stored[6:]
    assert [{**r, "id": r["id"] + 100} for r in plain] == [dict(r) for r in bulk]
    assert texts[:6] == texts[6:]  # the same JSON text, JSON null included
    assert bulk[1]["doc"] == {"title": "中华人民共和国史", "n": [1, 2.5, None]}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_update_many_changes_each_row_by_its_key(kind: str, tmp_path: Path) -> None:
    async with engine_with(metadata, kind, tmp_path, "bm_bulk") as engine:
        async with session_factory(engine)() as session, session.begin():
            await insert_many(session, things, _rows(0))
            later = datetime(2027, 1, 2, tzinfo=UTC)
            await update_many(session, things, [
                {"thing_id": 1, "name": "one", "doc": {"x": [1]}, "at": later},
                {"thing_id": 9, "name": "nine", "doc": None, "at": later}], key="thing_id")
            await update_many(session, things, [{"thing_id": 2, "flag": True}, {"thing_id": 2, "flag": False}],
                              key="thing_id")  # a repeated key: the last one wins, as with executemany
        async with engine.connect() as conn:
            stored = {r["id"]: r for r in (await conn.execute(sa.select(things))).mappings()}
    assert (stored[1]["name"], stored[1]["doc"], stored[1]["at"].year) == ("one", {"x": [1]}, 2027)
    assert (stored[9]["name"], stored[9]["doc"]) == ("nine", None)
    assert stored[2]["flag"] is False and stored[0]["name"] == "thing '0\""
