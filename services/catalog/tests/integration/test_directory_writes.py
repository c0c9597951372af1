"""Writes name an institution the catalogue's directory copy knows: a code auth never announced (or not yet) is
refused with 409 and `Retry-After` on every write path, also for a platform admin, and accepted once the directory
event arrived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.tables import holders, imports, records
from bibliomesh_contracts.events.directory import InstitutionSnapshot, InstitutionSuspendedV1
from meshkit.testing import publish_event, publish_institution
from services.catalog.tests.catalog_fixtures import Catalog, catalog, marc_record
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
NEW = "CN-DL-NEW"
RECORD = marc_record("n1", "A book of a new library", isbns=("0306406152",), items=(("p", "N-1"),))
MARC = {"content-type": "application/marc"}


def admin(cat: Catalog) -> dict[str, str]:
    return cat.headers("PLATFORM", roles=("platform-admin",))


async def write_records(cat: Catalog, institution: str) -> httpx.Response:
    return await cat.client.post("/catalog/records", content=RECORD, params={"institution": institution},
                                 headers={**admin(cat), **MARC})


def assert_not_in_directory(response: httpx.Response, institution: str = NEW) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "2"
    problem = response.json()
    assert problem["errors"][0]["field"] == "institution"
    assert f"{institution} is not (yet) in the catalogue's directory" in problem["detail"]
    assert "announced within seconds" in problem["detail"]


async def test_a_platform_admin_cannot_write_for_an_institution_the_directory_never_announced(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("a1", "Known library's book", items=(("p", "A-1"),)))
        assert_not_in_directory(await write_records(cat, NEW))
        assert_not_in_directory(await cat.client.post(
            "/catalog/imports", params={"institution": NEW}, content=RECORD, headers={**admin(cat), **MARC}))
        assert_not_in_directory(await cat.client.put(f"/catalog/holdings/{NEW}/N-1", json={"status": "missing"},
                                                     headers=admin(cat)))
        assert_not_in_directory(await cat.client.delete(f"/catalog/records/{NEW}/n1", headers=admin(cat)))
        assert_not_in_directory(await cat.client.put(f"/catalog/harvest-sources/{NEW}", headers=admin(cat),
                                                     json={"base_url": "https://oai.example.org/oai"}))
        pair = {"a": {"institution": "LIB-A", "local_id": "a1"}, "b": {"institution": NEW, "local_id": "n1"}}
        for decision in ("link", "split"):
            assert_not_in_directory(await cat.client.post(f"/catalog/clusters/{decision}", json=pair,
                                                          headers=admin(cat)))

        assert await count(cat, records, records.c.institution == NEW) == 0
        assert await count(cat, imports, imports.c.institution == NEW) == 0
        assert not list((tmp_path / "imports").glob("import-*")), "nothing of the refused import is spooled"
        assert [e["institution"] for e in await cat.events("catalog.record.upserted")] == ["LIB-A"]


async def test_a_new_institution_can_write_once_its_directory_event_arrived(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        assert_not_in_directory(await write_records(cat, NEW))
        await publish_institution(cat.app.state.runtime.bus, InstitutionSnapshot(
            code=NEW, name_en="New Library", kind="public-library", version=1))

        accepted = await wait_for(lambda: write_records(cat, NEW), lambda r: r.status_code != 409,
                                  what=f"the catalogue to learn {NEW} from its directory event")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["counts"] == {"created": 1}
        holding = await cat.client.put(f"/catalog/holdings/{NEW}/N-1", json={"status": "missing"},
                                       headers=admin(cat))
        assert holding.status_code == 200, holding.text


async def test_a_suspended_institution_still_writes_and_an_unknown_status_is_no_institution(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        bus = cat.app.state.runtime.bus
        suspended = InstitutionSnapshot(code=NEW, name_en="New Library", kind="public-library", status="suspended",
                                        version=2)
        await publish_event(bus, InstitutionSuspendedV1(institution=suspended), producer="auth", aggregate_id=NEW,
                            aggregate_version=2)
        accepted = await wait_for(lambda: write_records(cat, NEW), lambda r: r.status_code != 409,
                                  what=f"the catalogue to learn {NEW} (suspended)")
        assert accepted.status_code == 200, accepted.text

        # A status the directory contract does not define (a deletion, should auth ever announce one) is refused.
        async with cat.app.state.runtime.engine.begin() as conn:
            await conn.execute(sa.update(holders).where(holders.c.code == NEW).values(status="deleted"))
        assert_not_in_directory(await cat.client.delete(f"/catalog/records/{NEW}/n1", headers=admin(cat)))


async def count(cat: Catalog, table: sa.Table, condition: Any) -> int:
    return int(await cat.scalar(sa.select(sa.func.count()).select_from(table).where(condition)))
