"""Helpers for tests that need institutions, people and their real tokens (password grant)."""

from __future__ import annotations

from typing import Any

import httpx

from bibliomesh_auth.domain.scopes import SCOPES

PASSWORD = "correct-horse-battery"
UNI = {"code": "CN-DL-U1", "name_en": "Test University", "kind": "university", "regions": ["CN-LN-DL"],
       "pickup_locations": ["Main Desk", "Science Desk"]}
OTHER = {"code": "CN-DL-U2", "name_en": "Other University", "kind": "university", "regions": ["CN-LN-DL"],
         "pickup_locations": ["Front Desk"]}


async def register(client: httpx.AsyncClient, admin: dict[str, str], *institutions: dict[str, Any]) -> None:
    for institution in institutions:
        response = await client.post("/auth/institutions", json=institution, headers=admin)
        assert response.status_code == 201, response.text


async def make_user(client: httpx.AsyncClient, headers: dict[str, str], institution: str, username: str,
                    roles: list[str], password: str | None = PASSWORD, **fields: Any) -> dict[str, Any]:
    body = {"institution": institution, "username": username, "roles": roles, **fields}
    if password:
        body["password"] = password
    response = await client.post("/auth/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def password_app(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str]:
    """A confidential app allowed the password grant (only a platform admin may create one)."""
    response = await client.post("/auth/clients", headers=admin, json={
        "name": "Test app", "institution": "PLATFORM", "scopes": sorted(SCOPES), "client_id": "test-app",
        "grant_types": ["password", "refresh_token"]})
    assert response.status_code == 201, response.text
    return response.json()["client_id"], response.json()["client_secret"]


async def sign_in(client: httpx.AsyncClient, app: tuple[str, str], institution: str, username: str,
                  password: str = PASSWORD, scope: str | None = None) -> dict[str, Any]:
    data = {"grant_type": "password", "institution": institution, "username": username, "password": password}
    if scope:
        data["scope"] = scope
    response = await client.post("/auth/token", data=data, auth=app)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def person(client: httpx.AsyncClient, admin: dict[str, str], app: tuple[str, str], institution: str,
                 username: str, roles: list[str]) -> dict[str, str]:
    """Create a person and return headers with their real access token."""
    await make_user(client, admin, institution, username, roles)
    return bearer(await sign_in(client, app, institution, username))
