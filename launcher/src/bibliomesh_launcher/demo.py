"""Demo data, loaded through the public API like any partner would: the platform's own services own their data."""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

REGION = "CN-LN-DL"  # the Dalian regional consortium
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
]


async def load_demo_data(base_url: str, client_id: str, client_secret: str) -> list[str]:
    """Create the demo institutions that do not exist yet; returns the codes created. Safe to run again."""
    created: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        token = await client.post("/auth/token", data={"grant_type": "client_credentials", "scope": "directory:admin"},
                                  auth=(client_id, client_secret))
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for institution in DEMO_INSTITUTIONS:
            existing = await client.get(f"/auth/institutions/{institution['code']}")
            if existing.status_code == 200:
                continue
            response = await client.post("/auth/institutions", json=institution, headers=headers)
            response.raise_for_status()
            created.append(institution["code"])
    return created
