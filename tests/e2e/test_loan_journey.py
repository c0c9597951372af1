"""The journey the platform exists for, end to end on the running platform with its demo data: a patron at a
branch library borrows a book that a sister branch, regional libraries and an open-sharing partner hold.

The sister branch is asked first and cannot supply; a regional library is asked next and lends; the patron's
library receives the book, lends it to the patron, gets it back and returns it; the lender checks it in. Every
step reaches the bus as an `ill.request.*` event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bibliomesh_launcher.demo import CLI_CLIENT, DEMO_PASSWORD, load_demo_data
from meshkit.bus import Delivery, RetryPolicy, Subscription
from meshkit.testing import eventually
from tests.e2e.platform import ADMIN, embedded_platform

pytestmark = pytest.mark.e2e
BRANCH, SISTER, OPEN_PARTNER = "CN-DL-LHU-ENG", "CN-DL-LHU-MED", "CN-SH-OSL"


async def _login(client: httpx.AsyncClient, institution: str, username: str) -> dict[str, str]:
    token = await client.post("/auth/token", data={
        "grant_type": "password", "client_id": CLI_CLIENT, "institution": institution, "username": username,
        "password": DEMO_PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _shared_cluster(client: httpx.AsyncClient, patron: dict[str, str]) -> dict[str, Any]:
    """A book the sister branch, the region and the open-sharing partner hold, and the patron's branch does not."""
    for page in range(1, 9):
        found = await client.get("/catalog/search", headers=patron, params={
            "institution": [SISTER, OPEN_PARTNER], "page": page, "page_size": 50})
        assert found.status_code == 200, found.text
        for hit in found.json()["results"]:
            holders = {h["institution"] for h in hit["holdings"]}
            if {SISTER, "CN-DL-RPL", OPEN_PARTNER} <= holders and BRANCH not in holders:
                return hit  # type: ignore[no-any-return]
    raise AssertionError("the demo data has no book held by the sister branch, the region and the open partner")


async def test_a_branch_patron_borrows_through_the_tiers_and_the_loan_completes(tmp_path: Path) -> None:
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url,
                                                                          timeout=30) as client:
        events: list[str] = []

        async def seen(delivery: Delivery) -> None:
            events.append(delivery.routing_key)

        await platform.transport.subscribe(Subscription("e2e.ill-steps", ("ill.request.#",)), seen,
                                           RetryPolicy())
        await load_demo_data(platform.public_url, *ADMIN)
        patron = await _login(client, BRANCH, "patron")
        book = await _shared_cluster(client, patron)

        async def broker_knows_holders() -> bool:
            staff = await _login(client, BRANCH, "staff")
            items = (await client.get(f"/ill/holdings/{book['cluster_id']}", headers=staff)).json()
            return {SISTER, "CN-DL-RPL", OPEN_PARTNER} <= {i["institution"] for i in items}

        await eventually(broker_knows_holders, within=60)
        created = await client.post("/ill/requests", headers=patron, json={
            "cluster_id": book["cluster_id"], "service_type": "loan", "pickup_location": "Engineering Library Desk"})
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        branch_staff = await _login(client, BRANCH, "staff")
        rota = (await client.get(f"/ill/requests/{rid}", headers=branch_staff)).json()["rota"]
        placed = [(e["lender"], e["tier"]) for e in rota if e["position"]]
        assert placed[0] == (SISTER, "university") and placed[-1] == (OPEN_PARTNER, "open")
        assert {tier for _, tier in placed[1:-1]} == {"region"}

        async def act(institution: str, action: str, **body: Any) -> dict[str, Any]:
            staff = await _login(client, institution, "staff")
            answer = await client.post(f"/ill/requests/{rid}/actions/{action}", headers=staff, json=body or None)
            assert answer.status_code == 200, answer.text
            return answer.json()  # type: ignore[no-any-return]

        assert (await act(SISTER, "cannot_supply", reason="NotOnShelf"))["lender"] is None  # not the decliner's
        after_no = (await client.get(f"/ill/requests/{rid}", headers=branch_staff)).json()
        lender = after_no["lender"]
        assert (lender, after_no["rota_position"]) == (placed[1][0], 2)
        await act(lender, "will_supply")
        assert (await act(lender, "ship"))["requester_state"] == "shipped"
        for action in ("receive", "check_out", "return_item"):
            await act(BRANCH, action)
        done = await act(lender, "check_in")
        assert (done["requester_state"], done["supplier_state"]) == ("completed", "completed")
        mine = (await client.get(f"/ill/requests/{rid}", headers=patron)).json()
        assert mine["requester_state"] == "completed" and mine["allowed_actions"] == []

        expected = [f"ill.request.{s}" for s in ("submitted", "routed", "declined", "routed", "will_supply",
                                                  "shipped", "received", "checked_out", "returned", "completed")]

        async def all_published() -> bool:
            return events == expected

        await eventually(all_published, within=30)
