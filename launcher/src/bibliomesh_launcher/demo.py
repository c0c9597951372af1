"""Demo data, loaded through the public API like any partner would: the platform's own services own their data.

Each demo institution gets three local accounts (`admin`, `staff`, `patron`, one demo password), and the regional
public library an `operator` who is the platform admin; the platform gets the public client `bibliomesh-web` for
the web front end and, where the password grant is on (embedded mode), the public client `bibliomesh-cli` so a
person can get a token with curl. Safe to run again: what exists is kept.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from bibliomesh_launcher.demo_catalog import load_demo_records

log = logging.getLogger(__name__)

REGION = "CN-LN-DL"  # the Dalian regional consortium
DEMO_PASSWORD = "Bibliomesh-demo-2025"  # noqa: S105 - published on purpose: demo accounts on a local demo only
WEB_CLIENT = "bibliomesh-web"
CLI_CLIENT = "bibliomesh-cli"
DEMO_PEOPLE: list[dict[str, Any]] = [
    {"username": "admin", "roles": ["institution-admin"], "display_name": "Demo Admin"},
    {"username": "staff", "roles": ["staff"], "display_name": "Demo Staff"},
    {"username": "patron", "roles": ["patron"], "display_name": "Demo Patron"},
]
# The platform's operator (a platform admin) for the web front end's admin pages; the consortium office sits at the
# regional public library.
DEMO_OPERATOR: dict[str, Any] = {"username": "operator", "roles": ["platform-admin"],
                                 "display_name": "Demo Platform Operator", "institution": "CN-DL-RPL"}
DEMO_INSTITUTIONS: list[dict[str, Any]] = [
    {"code": "CN-DL-LHU", "name_en": "Liaohai University", "name_zh": "辽海大学", "kind": "university",
     "regions": [REGION], "pickup_locations": ["Main Library Circulation Desk"], "ill_email": "ill@lhu.example.edu",
     "language": "zh"},
    {"code": "CN-DL-LHU-ENG", "name_en": "Liaohai University Engineering Library", "name_zh": "辽海大学工程分馆",
     "kind": "branch-library", "parent_code": "CN-DL-LHU", "regions": [REGION],
     "pickup_locations": ["Engineering Library Desk"], "ill_email": "ill-eng@lhu.example.edu", "language": "zh"},
    {"code": "CN-DL-LHU-MED", "name_en": "Liaohai University Medical Library", "name_zh": "辽海大学医学分馆",
     "kind": "branch-library", "parent_code": "CN-DL-LHU", "regions": [REGION],
     "pickup_locations": ["Medical Library Desk"], "ill_email": "ill-med@lhu.example.edu", "language": "zh"},
    {"code": "CN-DL-BNU", "name_en": "Binhai Normal University", "name_zh": "滨海师范大学", "kind": "university",
     "regions": [REGION], "pickup_locations": ["Library Service Desk"], "ill_email": "ill@bnu.example.edu",
     "language": "en"},
    {"code": "CN-DL-RPL", "name_en": "Dalian Regional Public Library", "name_zh": "大连地区公共图书馆",
     "kind": "public-library", "regions": [REGION], "pickup_locations": ["Lending Hall"],
     "ill_email": "ill@rpl.example.org", "language": "zh"},
    # outside the region: reached through open sharing only
    {"code": "CN-SH-OSL", "name_en": "Shanghai Open Sharing Library", "name_zh": "上海开放共享图书馆",
     "kind": "research-library", "regions": ["CN-SH"], "pickup_locations": ["Reading Room"],
     "ill_email": "ill@osl.example.org", "language": "zh"},
]


@dataclass
class DemoData:
    """What the demo holds after loading, and what this run added."""

    created: list[str] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)
    usernames: list[str] = field(default_factory=lambda: [p["username"] for p in DEMO_PEOPLE])
    password: str = DEMO_PASSWORD
    cli_client: str | None = None
    records_created: int = 0


async def load_demo_data(base_url: str, client_id: str, client_secret: str) -> DemoData:
    """Create whatever of the demo data does not exist yet. Safe to run again."""
    demo = DemoData(institutions=[i["code"] for i in DEMO_INSTITUTIONS])
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        headers, platform = await _platform_admin(client, client_id, client_secret)
        for institution in DEMO_INSTITUTIONS:
            if (await client.get(f"/auth/institutions/{institution['code']}")).status_code != 200:
                response = await client.post("/auth/institutions", json=institution, headers=headers)
                response.raise_for_status()
                demo.created.append(institution["code"])
            demo.created.extend(await _people(client, headers, institution))
        demo.created.extend(await _client(client, headers, _web_client(base_url, platform)))
        discovery = (await client.get("/.well-known/openid-configuration")).json()
        if "password" in discovery.get("grant_types_supported", []):
            cli = {"client_id": CLI_CLIENT, "name": "curl and scripts (demo, password grant)",
                   "institution": platform, "is_public": True, "grant_types": ["password", "refresh_token"]}
            demo.created.extend(await _client(client, headers, cli))
            demo.cli_client = CLI_CLIENT
            staff = {i["code"]: await _staff_token(client, i["code"]) for i in DEMO_INSTITUTIONS}
            demo.records_created = await load_demo_records(client, staff)
    return demo


async def register_web_client(base_url: str, client_id: str, client_secret: str) -> list[str]:
    """Register the web front end's public client if it is missing: without it nobody can sign in on the web pages.
    Not demo data (no people, no secret), so distributed mode does it without `--demo` too."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        headers, platform = await _platform_admin(client, client_id, client_secret)
        return await _client(client, headers, _web_client(base_url, platform))


async def _platform_admin(client: httpx.AsyncClient, client_id: str, client_secret: str) -> tuple[dict[str, str], str]:
    """The bootstrap client's authorization header and its institution (the platform's)."""
    token = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret))
    token.raise_for_status()
    access_token = token.json()["access_token"]
    return {"Authorization": f"Bearer {access_token}"}, str(_claims(access_token)["institution"])


def _web_client(base_url: str, platform: str) -> dict[str, Any]:
    return {"client_id": WEB_CLIENT, "name": "Bibliomesh web front end", "institution": platform, "is_public": True,
            "redirect_uris": [f"{base_url.rstrip('/')}/callback"]}


async def _staff_token(client: httpx.AsyncClient, institution: str) -> str:
    response = await client.post("/auth/token", data={
        "grant_type": "password", "client_id": CLI_CLIENT, "institution": institution, "username": "staff",
        "password": DEMO_PASSWORD, "scope": "catalog:write"})
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _people(client: httpx.AsyncClient, headers: dict[str, str], institution: dict[str, Any]) -> list[str]:
    code = institution["code"]
    domain = institution["ill_email"].split("@", 1)[1]
    people = DEMO_PEOPLE + ([{k: v for k, v in DEMO_OPERATOR.items() if k != "institution"}]
                            if code == DEMO_OPERATOR["institution"] else [])
    rows = [{**person, "email": f"{person['username']}@{domain}", "password": DEMO_PASSWORD,
             "language": institution["language"], "pickup_location": institution["pickup_locations"][0]}
            for person in people]
    response = await client.post("/auth/users/import", params={"institution": code}, json=rows, headers=headers)
    response.raise_for_status()
    report = response.json()
    for row in report["rows"]:
        if row["result"] == "rejected":
            log.warning("demo account not created", extra={"institution": code, "username": row["username"],
                                                           "reason": row["reason"]})
    return [f"{code}/{row['username']}" for row in report["rows"] if row["result"] == "created"]


async def _client(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> list[str]:
    if (await client.get(f"/auth/clients/{body['client_id']}", headers=headers)).status_code == 200:
        return []
    response = await client.post("/auth/clients", json=body, headers=headers)
    response.raise_for_status()
    return [f"client {body['client_id']}"]


def _claims(token: str) -> dict[str, Any]:
    """The claims of our own fresh token, read without verifying (we just got it from the token endpoint)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def token_command(public_url: str, demo: DemoData, institution: str = "CN-DL-LHU", username: str = "patron") -> str:
    """The curl line that gets a demo person a token with the password grant."""
    return (f"curl -s -d grant_type=password -d client_id={demo.cli_client} -d institution={institution} "
            f"-d username={username} -d 'password={demo.password}' {public_url}/auth/token")
