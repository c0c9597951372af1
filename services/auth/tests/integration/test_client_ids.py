"""A client id never passes for another institution's client, or for another client (case and look-alikes aside)."""

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.settings import AuthSettings
from meshkit.testing import running

from .conftest import ADMIN, admin_headers, settings_on
from .people import OTHER, UNI, password_app, person, register

PARTNER = {"name": "Catalogue sync", "scopes": ["catalog:write"]}
BRANCH = {"code": "CN-DL-U1-ENG", "name_en": "Engineering Library", "kind": "branch-library",
          "parent_code": "CN-DL-U1", "regions": ["CN-LN-DL"]}
WEB = {"name": "Web front end", "institution": "PLATFORM", "is_public": True,
       "redirect_uris": ["https://library.example.org/callback"]}


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


def refused_naming_client_id(response: httpx.Response, status: int) -> bool:
    return (response.status_code == status and response.headers["content-type"] == "application/problem+json"
            and [e["field"] for e in response.json()["errors"]] == ["client_id"])


async def test_an_institution_admins_client_ids_start_with_its_own_code(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER, BRANCH)
    boss = await person(client, admin, await password_app(client, admin), "CN-DL-U1", "boss", ["institution-admin"])

    for imitation in ("cn-dl-u2-catalog-sync", "cn-d1-u2-catalog-sync", "cn.dl.u2.catalog-sync",
                      "cn-dl-u1-eng-catalog-sync", "bibliomesh-cli", "catalog-sync"):
        refused = await client.post("/auth/clients", json={**PARTNER, "client_id": imitation}, headers=boss)
        assert refused_naming_client_id(refused, 422), (imitation, refused.text)
    own = await client.post("/auth/clients", json={**PARTNER, "client_id": "cn-dl-u1-catalog-sync"}, headers=boss)
    assert own.status_code == 201, own.text
    generated = await client.post("/auth/clients", json=PARTNER, headers=boss)
    assert generated.status_code == 201 and generated.json()["client_id"].startswith("cn-dl-u1-")
    listed = await client.get("/auth/clients", params={"institution": "CN-DL-U2"}, headers=admin)
    assert listed.json() == []


async def test_an_id_like_an_existing_one_is_refused_whatever_its_case_or_look_alikes(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    boss = await person(client, admin, await password_app(client, admin), "CN-DL-U1", "boss", ["institution-admin"])
    assert (await client.post("/auth/clients", json={**WEB, "client_id": "bibliomesh-web"},
                              headers=admin)).status_code == 201
    assert (await client.post("/auth/clients", json={**PARTNER, "client_id": "cn-dl-u1-koha"},
                              headers=boss)).status_code == 201

    for like in ("bibliomesh_web", "bib1iomesh-web", "bibliornesh-web", "bibliomesh-vveb",
                 "bibliomeshweb"):
        refused = await client.post("/auth/clients", json={**WEB, "client_id": like}, headers=admin)
        assert refused_naming_client_id(refused, 409), (like, refused.text)
    for like in ("cn-dl-u1-k0ha", "cn-dl-u1-ko_ha"):
        refused = await client.post("/auth/clients", json={**PARTNER, "client_id": like}, headers=boss)
        assert refused_naming_client_id(refused, 409), (like, refused.text)
    for like in ("cn-dl-u1.koha", "cn-dl-ui-koha"):
        refused = await client.post("/auth/clients", json={**PARTNER, "institution": "CN-DL-U1", "client_id": like},
                                    headers=admin)
        assert refused_naming_client_id(refused, 409), (like, refused.text)
    upper = await client.post("/auth/clients", json={**PARTNER, "client_id": "CN-DL-U1-KOHA"}, headers=boss)
    assert refused_naming_client_id(upper, 422)
    audience = await client.post("/auth/clients", json={**WEB, "client_id": "bib1iomesh"}, headers=admin)
    assert refused_naming_client_id(audience, 422)


async def test_platform_admins_name_platform_clients_freely_but_not_as_an_institutions(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    robot = {"name": "Ops robot", "institution": "PLATFORM", "scopes": ["directory:admin"]}

    assert (await client.post("/auth/clients", json={**robot, "client_id": "ops-robot"},
                              headers=admin)).status_code == 201
    posing = await client.post("/auth/clients", json={**robot, "client_id": "cn-dl-u2-robot"}, headers=admin)
    assert refused_naming_client_id(posing, 422)
    for_u1 = await client.post("/auth/clients", headers=admin, json={
        **PARTNER, "institution": "CN-DL-U1", "client_id": "cn-dl-u2-sync"})
    assert refused_naming_client_id(for_u1, 422)
    chosen = await client.post("/auth/clients", headers=admin, json={
        **PARTNER, "institution": "CN-DL-U1", "client_id": "u1-discovery"})
    assert chosen.status_code == 201, chosen.text


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_look_alike_ids_chosen_at_the_same_moment_are_not_both_taken(engine: str, tmp_path: Path) -> None:
    async with settings_on(engine, tmp_path, "bm_auth_client_ids") as settings, \
            running(create_app(settings=settings, migrate=True)) as client:
        admin = await admin_headers(client)
        chosen = ["ops-robot", "ops_robot", "ops.robot", "0ps-robot", "ops-r0bot", "ops--robot"]
        answers = await asyncio.gather(*(
            client.post("/auth/clients", json={**PARTNER, "institution": "PLATFORM", "client_id": client_id},
                        headers=admin) for client_id in chosen))
        assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409, 409, 409], \
            [answer.text for answer in answers]
        assert all(refused_naming_client_id(answer, 409) for answer in answers if answer.status_code == 409)
