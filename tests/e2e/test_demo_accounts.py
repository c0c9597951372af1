"""The embedded demo: every demo institution gets an admin, a staff member and a patron who can get tokens with
curl (password grant), the web front end has its public client, and loading the demo twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bibliomesh_launcher.cli import _print_welcome
from bibliomesh_launcher.demo import CLI_CLIENT, DEMO_INSTITUTIONS, DEMO_PASSWORD, WEB_CLIENT, load_demo_data
from tests.e2e.platform import ADMIN, admin_headers, embedded_platform

pytestmark = pytest.mark.e2e


async def test_demo_people_sign_in_and_a_second_load_is_a_no_op(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url,
                                                                          timeout=30) as client:
        first = await load_demo_data(platform.public_url, *ADMIN)
        codes = [i["code"] for i in DEMO_INSTITUTIONS]
        assert set(codes) <= set(first.created)
        assert f"{codes[0]}/patron" in first.created and f"client {WEB_CLIENT}" in first.created
        assert first.cli_client == CLI_CLIENT

        token = await client.post("/auth/token", data={
            "grant_type": "password", "client_id": CLI_CLIENT, "institution": "CN-DL-LHU", "username": "patron",
            "password": DEMO_PASSWORD})
        assert token.status_code == 200, token.text
        info = (await client.get("/auth/userinfo",
                                 headers={"Authorization": f"Bearer {token.json()['access_token']}"})).json()
        assert info["institution"] == "CN-DL-LHU" and info["roles"] == ["patron"] and info["locale"] == "zh"

        admin = await client.post("/auth/token", data={
            "grant_type": "password", "client_id": CLI_CLIENT, "institution": "CN-DL-BNU", "username": "admin",
            "password": DEMO_PASSWORD})
        people = (await client.get("/auth/users", headers={
            "Authorization": f"Bearer {admin.json()['access_token']}"})).json()["items"]
        assert sorted(p["username"] for p in people) == ["admin", "patron", "staff"]

        web = (await client.get(f"/auth/clients/{WEB_CLIENT}", headers=await admin_headers(client))).json()
        assert web["is_public"] and web["redirect_uris"] == [f"{platform.public_url}/callback"]

        assert first.records_created > 300
        found = (await client.get("/catalog/search", params={"q": "人民"})).json()["results"]
        holders = {h["institution"] for h in found[0]["holdings"]}
        assert found[0]["title"] == "中华人民共和国史" and holders == {"CN-DL-BNU", "CN-DL-RPL"}

        second = await load_demo_data(platform.public_url, *ADMIN)
        assert second.created == [] and second.records_created == 0

        _print_welcome(platform.public_url, ADMIN, tmp_path, second)
        welcome = capsys.readouterr().out
        assert DEMO_PASSWORD in welcome and "CN-DL-RPL" in welcome
        assert f"-d client_id={CLI_CLIENT}" in welcome and "grant_type=password" in welcome
