"""The API clients page: an institution admin changes a client within what the platform lets them grant, and
enables a client disabled by mistake; every change carries the session's CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from web.tests.web_fixtures import admin_headers, browser, platform_for_web, signed_in_at, web_app


async def _clients(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    listed = await api.get("/auth/clients", params={"institution": "CN-DL-LHU"}, headers=await admin_headers(api))
    return {c["client_id"]: c for c in listed.json()}


async def test_an_institution_admin_edits_a_client_and_enables_it_again(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform) as api:
        app = web_app(platform)
        admin = await signed_in_at(app, platform)
        async with browser(app, admin) as client:
            made = await client.post("/clients", data={"csrf": admin.csrf, "name": "Koha",
                                                       "scopes": ["catalog:write"]})
            assert made.status_code == 200
            (client_id,) = await _clients(api)
            page = (await client.get("/clients")).text
            assert f'action="/clients/{client_id}"' in page and 'name="redirect_uris"' not in page

            forged = await client.post(f"/clients/{client_id}", data={"csrf": "forged", "name": "Forged",
                                                                      "scopes": ["catalog:read"]})
            assert forged.status_code == 403
            saved = await client.post(f"/clients/{client_id}", data={
                "csrf": admin.csrf, "name": " Koha at LHU ", "scopes": ["catalog:write", "ill:lend"]})
            assert saved.status_code == 303 and saved.headers["location"] == "/clients"
            assert f"{client_id} is saved." in (await client.get("/clients")).text
            beyond = await client.post(f"/clients/{client_id}", data={
                "csrf": admin.csrf, "name": "Koha", "scopes": ["catalog:write", "directory:admin"]})
            assert beyond.status_code == 303
            assert "That did not work: scopes: not for this client" in (await client.get("/clients")).text
            now = (await _clients(api))[client_id]
            assert now["name"] == "Koha at LHU" and now["scopes"] == ["catalog:write", "ill:lend"]

            await client.post(f"/clients/{client_id}/disable", data={"csrf": admin.csrf})
            page = (await client.get("/clients")).text
            assert f'action="/clients/{client_id}/enable"' in page
            enabled = await client.post(f"/clients/{client_id}/enable", data={"csrf": admin.csrf})
            assert enabled.status_code == 303
            assert f"{client_id} is enabled again." in (await client.get("/clients")).text
            assert (await _clients(api))[client_id]["disabled"] is False
