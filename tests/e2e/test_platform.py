"""The walking skeleton end to end, in both modes: an institution registered at the front door reaches the
catalogue, the broker and notify through the bus, and every service reports ready."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from meshkit.testing import eventually
from tests.e2e.platform import admin_headers, distributed_platform, embedded_platform

pytestmark = pytest.mark.e2e

UNIVERSITY = {"code": "CN-DL-E2E", "name_en": "End-to-End University", "name_zh": "端到端大学", "kind": "university",
              "regions": ["CN-LN-DL"], "ill_email": "ill@e2e.example.edu", "language": "zh"}


@pytest.fixture(params=["embedded", "distributed"])
async def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "embedded":
        async with embedded_platform(tmp_path) as platform:
            yield platform.public_url
    else:
        async with distributed_platform(tmp_path) as platform:
            yield platform.url


async def test_an_institution_reaches_every_service_through_events(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["services"] == dict.fromkeys(("auth", "catalog", "ill", "notify"), "ready")

        headers = await admin_headers(client)
        created = await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"]

        async def catalogue_knows() -> bool:
            holders = (await client.get("/catalog/holders")).json()
            return any(h["code"] == "CN-DL-E2E" and h["name_zh"] == "端到端大学" for h in holders)

        async def notify_knows() -> bool:
            response = await client.get("/notify/contacts/CN-DL-E2E", headers=headers)
            return response.status_code == 200 and response.json()["language"] == "zh"

        async def broker_knows() -> bool:
            response = await client.get("/ill/partners", params={"institution": "CN-DL-E2E"}, headers=headers)
            return response.status_code == 200

        await eventually(catalogue_knows)
        await eventually(notify_knows)
        await eventually(broker_knows)

        suspended = await client.post("/auth/institutions/CN-DL-E2E/suspend", json={}, headers=headers)
        assert suspended.status_code == 200

        async def catalogue_sees_suspension() -> bool:
            holders = (await client.get("/catalog/holders")).json()
            return any(h["code"] == "CN-DL-E2E" and h["status"] == "suspended" for h in holders)

        await eventually(catalogue_sees_suspension)


async def test_the_gateway_refuses_unknown_routes_and_bad_tokens(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        unknown = await client.get("/nowhere/at/all")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        refused = await client.post("/auth/institutions", json=UNIVERSITY, headers={"Authorization": "Bearer x.y.z"})
        assert refused.status_code == 401
        discovery = await client.get("/.well-known/openid-configuration")
        assert discovery.status_code == 200 and discovery.json()["issuer"] == gateway


async def test_a_second_embedded_run_keeps_what_the_first_stored(tmp_path: Path) -> None:
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url) as client:
        created = await client.post("/auth/institutions", json=UNIVERSITY, headers=await admin_headers(client))
        assert created.status_code == 201
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url) as client:
        assert (await client.get("/auth/institutions/CN-DL-E2E")).status_code == 200
        holders = (await client.get("/catalog/holders")).json()
        assert [h["code"] for h in holders] == ["CN-DL-E2E"]
