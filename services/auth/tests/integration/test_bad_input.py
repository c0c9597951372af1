"""Bad input of every kind gets the standard OAuth error or a 4xx problem+json naming the field, never a 500."""

import base64
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import SecretStr

from bibliomesh_auth.adapters.key_store import KeyStore
from bibliomesh_auth.adapters.tables import signing_keys
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine, session_factory
from meshkit.secret_box import open_secret_box

from .conftest import ADMIN, admin_headers
from .people import PASSWORD, UNI, register

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def signed_by_the_service(settings: AuthSettings, **overrides: Any) -> str:
    """A platform-admin token signed with the service's real current key, with some claims changed."""
    engine = create_engine(settings.effective_database_url())
    async with session_factory(engine)() as session:
        key = await KeyStore(session, open_secret_box(None, settings.data_dir, "auth"), timedelta()).signing_key()
    await engine.dispose()
    now = int(time.time())
    claims = {"iss": settings.token_issuer, "aud": settings.token_audience, "sub": f"client:{ADMIN[0]}",
              "iat": now, "nbf": now, "exp": now + 300, "jti": uuid.uuid4().hex, "institution": "PLATFORM",
              "roles": ["platform-admin"], "scope": "directory:admin accounts:manage", "client_id": ADMIN[0],
              **overrides}
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, claims, key)


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}."


def assert_token_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_token_endpoint_errors_are_oauth_errors(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/auth/token", data={"grant_type": "urn:magic"}, auth=ADMIN)
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    wrong = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN[0], "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    basic = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                              headers={"Authorization": "Basic %%%not-base64"})
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    introspect = await client.post("/auth/introspect", data={"token": "x"}, auth=(ADMIN[0], "nope"))
    assert introspect.status_code == 401 and introspect.json()["error"] == "invalid_client"
    revoke = await client.post("/auth/revoke", data={"token": ""}, auth=ADMIN)
    assert revoke.status_code == 400 and revoke.json()["error"] == "invalid_request"


async def test_bad_tokens_are_refused_with_401(client: httpx.AsyncClient, settings: AuthSettings) -> None:
    good = await signed_by_the_service(settings)
    assert (await client.get("/auth/users", headers={"Authorization": f"Bearer {good}"})).status_code == 200
    now = int(time.time())
    bad_tokens = {
        "malformed": "not.a.jwt",
        "garbage": "¡garbage!",
        "expired": await signed_by_the_service(settings, iat=now - 900, nbf=now - 900, exp=now - 600),
        "wrong audience": await signed_by_the_service(settings, aud="some-other-api"),
        "wrong issuer": await signed_by_the_service(settings, iss="https://evil.example"),
        "alg none": unsigned({"iss": settings.token_issuer, "aud": settings.token_audience, "sub": "x",
                              "exp": now + 300, "institution": "PLATFORM", "roles": ["platform-admin"]}),
        "foreign key": jwt.encode({"alg": "ES256", "kid": "made-up"}, {"sub": "x"}, ECKey.generate_key("P-256")),
    }
    for name, token in bad_tokens.items():
        headers = {"Authorization": f"Bearer {token}".encode()}
        assert_token_refused(await client.get("/auth/users", headers=headers))
        info = await client.get("/auth/userinfo", headers=headers)
        assert info.status_code == 401 and info.json()["error"] == "invalid_token", name
        answer = await client.post("/auth/introspect", data={"token": token}, auth=ADMIN)
        assert answer.json() == {"active": False}, name


async def test_a_token_of_a_rotated_out_key_is_refused(client: httpx.AsyncClient, settings: AuthSettings) -> None:
    old = await signed_by_the_service(settings)
    engine = create_engine(settings.effective_database_url())
    async with engine.begin() as conn:
        await conn.execute(sa.delete(signing_keys))  # rotated out and purged
    async with session_factory(engine)() as session:
        await KeyStore(session, open_secret_box(None, settings.data_dir, "auth"), timedelta()).create()
        await session.commit()
    await engine.dispose()
    assert_token_refused(await client.get("/auth/users", headers={"Authorization": f"Bearer {old}"}))
    assert (await client.post("/auth/introspect", data={"token": old}, auth=ADMIN)).json() == {"active": False}


async def test_bodies_name_the_offending_field(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    base = {"institution": "CN-DL-U1", "username": "li.wei", "roles": ["patron"], "password": PASSWORD}
    cases = [
        ({**base, "favourite_colour": "blue"}, "favourite_colour"),
        ({**base, "username": "x" * 101}, "username"),
        ({**base, "username": "has space"}, "username"),
        ({**base, "display_name": "x" * 301}, "display_name"),
        ({**base, "email": "not-an-email"}, "email"),
        ({**base, "email": "a@" + "b" * 320 + ".org"}, "email"),
        ({**base, "password": "p" * 201}, "password"),
    ]
    for body, field in cases:
        response = await client.post("/auth/users", json=body, headers=admin)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert field in {e["field"] for e in response.json()["errors"]}, (field, response.json())
    patch = await client.patch("/auth/users/whoever", json={"display_name": "x"}, headers=admin)
    assert patch.status_code == 422 and patch.json()["errors"][0]["field"] == "version"
    client_body = await client.post("/auth/clients", headers=admin, json={
        "name": "x" * 201, "institution": "CN-DL-U1", "scopes": ["catalog:read"], "secret": "mine"})
    assert client_body.status_code == 422
    assert {e["field"] for e in client_body.json()["errors"]} == {"name", "secret"}
    not_json = await client.post("/auth/users", content="{", headers={**admin, "Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.headers["content-type"] == PROBLEM
    missing = await client.get("/auth/users/no-such-id", headers=admin)
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    paging = await client.get("/auth/users", params={"limit": 100_000}, headers=admin)
    assert paging.status_code == 422 and paging.json()["errors"][0]["field"] == "query.limit"


async def test_an_offset_beyond_the_databases_range_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    for path in ("/auth/users", "/auth/audit"):
        response = await client.get(path, params={"offset": 2**63}, headers=admin)
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM, (path, response.text)
        assert response.json()["errors"][0]["field"] == "query.offset"
        assert (await client.get(path, params={"offset": 2**63 - 1}, headers=admin)).json()["items"] == []

async def test_a_csv_with_a_broken_row_still_imports_the_others(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    csv = ("username,email,roles\n"
           "good.one,good.one@u1.example.edu,patron\n"
           "broken,\"unbalanced,patron,extra\n")
    response = await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=csv,
                                 headers={**admin, "Content-Type": "text/csv"})
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM  # unreadable: says where
    csv = ("username,email,roles\n"
           "good.one,good.one@u1.example.edu,patron\n"
           "broken,a,b,c,d\n"
           "good.two,,staff\n")
    report = (await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=csv,
                                headers={**admin, "Content-Type": "text/csv"})).json()
    assert [r["result"] for r in report["rows"]] == ["created", "rejected", "created"]
    assert "cells" in report["rows"][1]["reason"]


async def test_an_import_nested_too_deeply_is_refused_naming_the_body(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    response = await client.post("/auth/users/import", params={"institution": "CN-DL-U1"},
                                 content=b"[" * 3000 + b"]" * 3000,
                                 headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM, response.text
    assert response.json()["errors"] == [{"field": "body", "message": "nested too deeply"}]
