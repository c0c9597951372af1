"""An institution PATCH merges its ISO 18626 peer settings like its policy (RFC 7396): fields not sent are kept."""

import json

import httpx
import sqlalchemy as sa

from bibliomesh_auth.adapters.tables import messaging
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine

from .conftest import admin_headers

PEER = {"code": "DE-KOHA-1", "name_en": "A Koha library abroad", "kind": "external-peer",
        "iso18626": {"endpoint_url": "https://koha.example.de/iso18626", "schema_version": "2021",
                     "agency_id_type": "OCLC"}}
UNIVERSITY = {"code": "CN-DL-U1", "name_en": "Test University", "kind": "university"}


async def updates_published(settings: AuthSettings) -> list[dict]:
    engine = create_engine(settings.effective_database_url())
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(messaging.outbox.c.body).where(
            messaging.outbox.c.event_type == "directory.institution.updated").order_by(messaging.outbox.c.id))).all()
    await engine.dispose()
    return [json.loads(r.body)["payload"] for r in rows]


async def test_a_partial_iso18626_change_keeps_the_fields_not_sent(client: httpx.AsyncClient,
                                                                   settings: AuthSettings) -> None:
    headers = await admin_headers(client)
    assert (await client.post("/auth/institutions", json=PEER, headers=headers)).status_code == 201
    issued = await client.post("/auth/institutions/DE-KOHA-1/peer-credentials", headers=headers)
    credential = issued.json()["institution"]["iso18626"]["credential_hash"]

    moved = await client.patch("/auth/institutions/DE-KOHA-1", headers=headers,
                               json={"iso18626": {"endpoint_url": "https://koha2.example.de/iso18626"}})

    assert moved.status_code == 200, moved.text
    assert moved.json()["iso18626"] == {"endpoint_url": "https://koha2.example.de/iso18626", "schema_version": "2021",
                                        "agency_id_type": "OCLC", "credential_hash": credential}
    assert moved.json()["version"] == 3
    event = (await updates_published(settings))[-1]
    assert event["changed_fields"] == ["iso18626"] and event["institution"]["iso18626"]["agency_id_type"] == "OCLC"
    same = await client.patch("/auth/institutions/DE-KOHA-1", headers=headers,
                              json={"iso18626": {"schema_version": "2021"}})
    assert same.status_code == 200 and same.json()["version"] == 3  # nothing changed, nothing published
    assert len(await updates_published(settings)) == 2


async def test_an_unknown_or_null_iso18626_field_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=PEER, headers=headers)

    for change, field in (({"endpoint": "https://typo.example.de"}, "iso18626.endpoint"),
                          ({"schema_version": None}, "iso18626.schema_version"),
                          ({"agency_id_type": None}, "iso18626.agency_id_type"),
                          ({"schema_version": "1.0"}, "iso18626.schema_version")):
        refused = await client.patch("/auth/institutions/DE-KOHA-1", json={"iso18626": change}, headers=headers)
        assert refused.status_code == 422, (change, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    created = await client.post("/auth/institutions", headers=headers, json={
        **PEER, "code": "DE-KOHA-2", "iso18626": {**PEER["iso18626"], "endpoint": "https://typo.example.de"}})
    assert created.status_code == 422 and [e["field"] for e in created.json()["errors"]] == ["iso18626.endpoint"]
    current = (await client.get("/auth/institutions/DE-KOHA-1")).json()
    assert current["iso18626"]["endpoint_url"] == PEER["iso18626"]["endpoint_url"] and current["version"] == 1


async def test_new_iso18626_settings_need_their_endpoint_and_edition_and_null_clears_them(
        client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)

    partial = await client.patch("/auth/institutions/CN-DL-U1", headers=headers,
                                 json={"iso18626": {"agency_id_type": "OCLC"}})
    assert partial.status_code == 422, partial.text
    assert {e["field"] for e in partial.json()["errors"]} == {"iso18626.endpoint_url", "iso18626.schema_version"}
    whole = await client.patch("/auth/institutions/CN-DL-U1", headers=headers, json={"iso18626": {
        "endpoint_url": "https://u1.example.edu/iso18626", "schema_version": "1.2"}})
    assert whole.status_code == 200 and whole.json()["iso18626"]["agency_id_type"] == "ISIL"
    cleared = await client.patch("/auth/institutions/CN-DL-U1", headers=headers, json={"iso18626": None})
    assert cleared.status_code == 200 and cleared.json()["iso18626"] is None and cleared.json()["version"] == 3


async def test_an_endpoint_the_broker_cannot_post_to_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    for endpoint in ("koha.example.de/iso18626", "ftp://koha.example.de/iso18626", "https://user:pw@koha.example.de/",
                     "https://"):
        refused = await client.post("/auth/institutions", headers=headers,
                                    json={**PEER, "iso18626": {**PEER["iso18626"], "endpoint_url": endpoint}})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "iso18626.endpoint_url", endpoint
    assert (await client.post("/auth/institutions", json=PEER, headers=headers)).status_code == 201
    moved = await client.patch("/auth/institutions/DE-KOHA-1", headers=headers,
                               json={"iso18626": {"endpoint_url": "javascript:alert(1)"}})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "iso18626.endpoint_url"
    assert (await client.get("/auth/institutions/DE-KOHA-1")).json()["iso18626"]["endpoint_url"] == \
        PEER["iso18626"]["endpoint_url"]
