"""A library's holdings, contributed to the catalogue, reach the broker's own copy through events, with the record's
title as catalogued (the broker names requests by it); a circulation update follows the same way."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bibliomesh_catalog.cli import commands as catalog_commands
from meshkit.testing import eventually
from tests.e2e.platform import ADMIN, admin_headers, embedded_platform
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

LIBRARY = {"code": "CN-DL-HLD", "name_en": "Holdings Library", "kind": "public-library", "regions": ["CN-LN-DL"]}
RECORD = {"local_id": "b1", "title": "Introduction to algorithms", "authors": ["Cormen, Thomas H."], "year": 2009,
          "alt_titles": ["算法导论"], "identifiers": {"isbn": ["9780262033848"]},
          "holdings": [{"item_id": "HLD-0001", "location": "Stacks", "call_number": "QA76.6 .C662"}]}


async def contribute(client: httpx.AsyncClient, admin: dict[str, str]) -> httpx.Response:
    """Post the record as soon as the catalogue learnt the new library from auth's directory event (until then it
    answers 409 with Retry-After)."""
    return await wait_for(
        lambda: client.post("/catalog/records", json=RECORD, params={"institution": LIBRARY["code"]}, headers=admin),
        lambda response: response.status_code != 409, what="the catalogue to learn the new library")


async def test_holdings_changes_reach_the_broker(tmp_path: Path) -> None:
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url) as client:
        admin = await admin_headers(client)
        assert (await client.post("/auth/institutions", json=LIBRARY, headers=admin)).status_code == 201
        stored = await contribute(client, admin)
        assert stored.status_code in (200, 201), stored.text
        cluster = stored.json()["results"][0]["cluster_id"]

        async def broker_sees(status: str) -> bool:
            response = await client.get(f"/ill/holdings/{cluster}", headers=admin)
            items = response.json() if response.status_code == 200 else []
            return [(i["item_id"], i["status"], i["title"], i["alt_title"]) for i in items] == [
                ("HLD-0001", status, "Introduction to algorithms", "算法导论")]

        await eventually(lambda: broker_sees("available"))
        update = await client.put("/catalog/holdings/CN-DL-HLD/HLD-0001", headers=admin,
                                  json={"status": "on-loan", "due_date": "2027-01-15"})
        assert update.status_code == 200, update.text
        await eventually(lambda: broker_sees("on-loan"))

        assert (await client.get(f"/ill/holdings/{cluster}")).status_code == 401
        narrow = await client.post("/auth/token", data={"grant_type": "client_credentials", "scope": "catalog:read"},
                                   auth=ADMIN)
        reader = {"Authorization": f"Bearer {narrow.json()['access_token']}"}
        assert (await client.get(f"/ill/holdings/{cluster}", headers=reader)).status_code == 403


async def test_announced_holdings_rebuild_the_brokers_copy(tmp_path: Path) -> None:
    """`bibliomesh catalog announce-holdings` after the broker's copy lost what it had (a restore from a backup, or a
    copy from before the titles were announced)."""
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url) as client:
        admin = await admin_headers(client)
        assert (await client.post("/auth/institutions", json=LIBRARY, headers=admin)).status_code == 201
        stored = await contribute(client, admin)
        cluster = stored.json()["results"][0]["cluster_id"]

        async def broker_titles() -> list[tuple[str, str | None]]:
            response = await client.get(f"/ill/holdings/{cluster}", headers=admin)
            return [(i["item_id"], i["title"]) for i in response.json()] if response.status_code == 200 else []

        await eventually(lambda: _equals(broker_titles(), [("HLD-0001", "Introduction to algorithms")]))
        with sqlite3.connect(tmp_path / "ill.sqlite") as broker_db:
            broker_db.execute("UPDATE holdings SET title = NULL, alt_title = NULL")
        assert await broker_titles() == [("HLD-0001", None)]

        result = await asyncio.to_thread(CliRunner().invoke, catalog_commands, ["announce-holdings"],
                                         env={"DATA_DIR": str(tmp_path)})

        assert result.exit_code == 0, result.output
        assert "announced the items of 1 record(s)" in result.output
        await eventually(lambda: _equals(broker_titles(), [("HLD-0001", "Introduction to algorithms")]))


async def _equals(found: Awaitable[object], expected: object) -> bool:
    return await found == expected
