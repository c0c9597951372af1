"""What a request is for: named by the book's title as the catalogue gives it (not its match key), and a citation
whose identifiers the broker's copy holds in one cluster only is a request for that cluster, so duplicates and
purchase suggestions count the book once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from broker_fixtures import Broker, broker, item, region

from bibliomesh_ill.adapters.tables import messaging
from tests.support.infra import postgres_database

HOME = "CN-U1-ENG"
ISBN = "9780801866616"
ADAM = "Adam's curse : reflections on religion and literature"
ZHONGGUO = "Zhongguo fa lü si xiang shi"
OFFLINE = {"catalog_url": "http://127.0.0.1:9"}  # nothing listens: the broker's own copy must do


@asynccontextmanager
async def backend(kind: str, tmp_path: Path) -> AsyncIterator[Broker]:
    """The embedded SQLite database, or PostgreSQL (the queries that pick a cluster's title differ per engine)."""
    if kind == "sqlite":
        async with broker(tmp_path, **OFFLINE) as b:
            yield b
        return
    async with postgres_database("bm_ill") as url, broker(tmp_path, database_url=url, **OFFLINE) as b:
        yield b


async def created(b: Broker, reader: str, **body: Any) -> dict[str, Any]:
    response = await b.submit(b.patron(HOME, reader), **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def published(b: Broker, request_id: str) -> list[dict[str, Any]]:
    """The payloads of the request's events, as notify, webhooks and peers get them."""
    async with b.runtime.engine.connect() as conn:
        bodies = await conn.scalars(sa.select(messaging.outbox.c.body).where(
            messaging.outbox.c.aggregate_id == f"ill-request:{request_id}").order_by(messaging.outbox.c.id))
        return [json.loads(body)["payload"] for body in bodies]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_request_is_named_by_the_title_the_catalogue_gives(kind: str, tmp_path: Path) -> None:
    async with backend(kind, tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([
            item("CN-PL", "p1", 223, isbns=[ISBN], title="Adam's curse"),  # a briefer record of the same edition
            item("CN-U1-MED", "m1", 223, isbns=[ISBN], title=ADAM),
            item("CN-FAR", "f1", 224, title=ZHONGGUO, alt_title="中国法律思想史"),
        ])

        by_cluster = await created(b, "ann", cluster_id=223)
        assert (by_cluster["title"], by_cluster["item_key"]) == (ADAM, "cluster:223")   # the fullest, as displayed
        assert {p["title"] for p in await published(b, by_cluster["id"])} == {ADAM}
        by_isbn = await created(b, "bo", citation={"isbn": "0-8018-6661-8"})
        assert (by_isbn["title"], by_isbn["cluster_id"]) == (ADAM, 223)
        cited = await created(b, "cy", cluster_id=223, citation={"title": "adams curse"})
        assert cited["title"] == ADAM   # the catalogue's title over the patron's spelling

        chinese = await created(b, "ann", cluster_id=224)
        assert chinese["title"] == ZHONGGUO   # diacritics kept
        copy = (await b.client.get("/ill/holdings/224", headers=b.staff(HOME))).json()
        assert [(h["title"], h["alt_title"]) for h in copy] == [(ZHONGGUO, "中国法律思想史")]


async def test_items_copied_before_titles_were_carried_fall_back_to_the_citation(tmp_path: Path) -> None:
    async with broker(tmp_path, **OFFLINE) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 7, isbns=[ISBN])])   # as announced by an older catalogue

        assert (await created(b, "ann", cluster_id=7, citation={"title": "Adam's Curse"}))["title"] == "Adam's Curse"
        assert (await created(b, "bo", cluster_id=7))["title"] == "book 7"   # nothing better known: the key's words
        nobody = await created(b, "cy", citation={"isbn": "9780306406157"})   # held by no one, catalogue down
        assert (nobody["title"], nobody["cluster_id"], nobody["item_key"]) == (
            "9780306406157", None, "isbn:9780306406157")

        await b.add_holdings([item("CN-PL", "p1", 7, isbns=[ISBN], title=ADAM, change="changed")], version=2)
        assert (await created(b, "dee", cluster_id=7))["title"] == ADAM
        # a catalogue replica not yet upgraded announces the item again: it says nothing of the title, which stays
        await b.add_holdings([item("CN-PL", "p1", 7, isbns=[ISBN], status="on-loan", change="changed")], version=3)
        assert (await created(b, "eve", cluster_id=7))["title"] == ADAM


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_citation_held_in_one_cluster_is_a_request_for_that_cluster(kind: str, tmp_path: Path) -> None:
    async with backend(kind, tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([
            item("CN-U1-MED", "m1", 42, isbns=[ISBN], title=ADAM),
            item("CN-PL", "p1", 42, title=ADAM).model_copy(update={"oclc_numbers": ["51726563"]}),  # other ISBN
        ])
        staff = b.staff(HOME)
        threshold = await b.client.put(f"/ill/acquisition-suggestions/threshold/{HOME}", headers=staff,
                                       json={"threshold": 2, "window_days": 30})
        assert threshold.status_code == 200, threshold.text

        first = await created(b, "ann", citation={"isbn": ISBN})
        assert (first["cluster_id"], first["item_key"], first["title"]) == (42, "cluster:42", ADAM)
        rota = (await b.view(first["id"], staff)).json()["rota"]
        assert sorted(e["lender"] for e in rota) == ["CN-PL", "CN-U1-MED"]   # every holder of the cluster

        again = await b.submit(b.patron(HOME, "ann"), cluster_id=42)
        assert again.status_code == 409, again.text
        assert again.json()["duplicates"] == [first["id"]]
        by_oclc = await b.submit(b.patron(HOME, "ann"), citation={"oclc": "051726563"})
        assert (by_oclc.status_code, by_oclc.json()["duplicates"]) == (409, [first["id"]])

        second = await created(b, "bo", cluster_id=42)
        suggestions = (await b.client.get("/ill/acquisition-suggestions", headers=staff)).json()
        assert [(s["item_key"], s["title"], s["request_ids"]) for s in suggestions] == [
            ("cluster:42", ADAM, [first["id"], second["id"]])]


async def test_a_citation_held_in_several_clusters_stays_a_citation(tmp_path: Path) -> None:
    async with broker(tmp_path, **OFFLINE) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 42, isbns=[ISBN], title=ADAM),
                              item("CN-PL", "p1", 43, isbns=[ISBN], title="Adam's curse (large print)")])

        cited = await created(b, "ann", citation={"isbn": ISBN, "title": "Adam's curse"})
        assert (cited["cluster_id"], cited["item_key"], cited["title"]) == (None, f"isbn:{ISBN}", "Adam's curse")
        rota = (await b.view(cited["id"], b.staff(HOME))).json()["rota"]
        assert sorted(e["lender"] for e in rota) == ["CN-PL", "CN-U1-MED"]
        bare = await created(b, "bo", citation={"isbn": ISBN})
        assert (bare["cluster_id"], bare["title"]) == (None, ISBN)
        assert (await b.submit(b.patron(HOME, "ann"), citation={"isbn": ISBN})).status_code == 409
        assert (await created(b, "ann", cluster_id=42))["item_key"] == "cluster:42"   # not the same request
