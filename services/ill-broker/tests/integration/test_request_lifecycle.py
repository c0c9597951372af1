"""The journey the broker exists for: a branch patron's loan goes round the rota and comes home."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from broker_fixtures import Broker, backend, broker, item, region

from bibliomesh_ill.adapters.tables import messaging


async def _events(b: Broker, request_id: str) -> list[str]:
    async with b.runtime.engine.connect() as conn:
        return list(await conn.scalars(sa.select(messaging.outbox.c.event_type).where(
            messaging.outbox.c.aggregate_id == f"ill-request:{request_id}").order_by(messaging.outbox.c.id)))


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_sister_branch_declines_the_region_lends_and_the_loan_completes(kind: str, tmp_path: Path) -> None:
    async with backend(kind, tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 7), item("CN-PL", "p1", 7), item("CN-FAR", "f1", 7)])
        patron = b.patron("CN-U1-ENG")

        created = await b.client.post("/ill/requests", headers=patron, json={
            "cluster_id": 7, "service_type": "loan", "pickup_location": "Engineering desk"})
        assert created.status_code == 201, created.text
        request = created.json()
        rid = request["id"]
        assert (request["requester_state"], request["lender"]) == ("sent_to_supplier", "CN-U1-MED")
        assert request["allowed_actions"] == ["cancel"]
        staff_view = (await b.client.get(f"/ill/requests/{rid}", headers=b.staff("CN-U1-ENG"))).json()
        assert [(e["lender"], e["tier"]) for e in staff_view["rota"]] == [
            ("CN-U1-MED", "university"), ("CN-PL", "region"), ("CN-FAR", "open")]

        sister = b.staff("CN-U1-MED")
        assert "will_supply" in (await b.client.get(f"/ill/requests/{rid}", headers=sister)).json()["allowed_actions"]
        declined = await b.act(rid, "cannot_supply", sister, reason="NotOnShelf")
        assert declined.status_code == 200, declined.text
        assert declined.json()["lender"] is None  # the next lender is not the decliner's business
        assert (await b.client.get(f"/ill/requests/{rid}", headers=b.staff("CN-U1-ENG"))).json()["lender"] == "CN-PL"

        regional = b.staff("CN-PL")
        assert (await b.act(rid, "will_supply", regional)).status_code == 200
        shipped = await b.act(rid, "ship", regional)
        assert shipped.json()["requester_state"] == "shipped" and shipped.json()["due_date"]

        home = b.staff("CN-U1-ENG")
        for action, state in (("receive", "received"), ("check_out", "checked_out"), ("return_item", "returned")):
            answer = await b.act(rid, action, home)
            assert answer.json()["requester_state"] == state, answer.text
        done = await b.act(rid, "check_in", regional)
        assert (done.json()["requester_state"], done.json()["supplier_state"]) == ("completed", "completed")
        assert done.json()["allowed_actions"] == []

        assert await _events(b, rid) == [f"ill.request.{s}" for s in (
            "submitted", "routed", "declined", "routed", "will_supply", "shipped", "received", "checked_out",
            "returned", "completed")]
        assert await b.steps(rid) == ["submitted", "validated", "sourcing", "routed", "declined", "routed",
                                      "will_supply", "shipped", "received", "checked_out", "returned", "completed"]


async def test_a_loan_due_soon_is_announced_once_per_due_date(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime, time, timedelta

    from bibliomesh_ill.service_layer.timers import fire_due

    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 8)])
        rid = (await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"), json={"cluster_id": 8})).json()["id"]
        lender = b.staff("CN-PL")
        await b.act(rid, "will_supply", lender)
        due = date.fromisoformat((await b.act(rid, "ship", lender)).json()["due_date"])

        early = datetime.combine(due - timedelta(days=5), time(9), UTC)
        assert await fire_due(b.runtime, early) == 0
        two_days_before = datetime.combine(due - timedelta(days=2), time(9), UTC)
        assert await fire_due(b.runtime, two_days_before) == 1
        assert await fire_due(b.runtime, two_days_before + timedelta(hours=1)) == 0
        assert (await b.steps(rid)).count("due_soon") == 1
        assert "ill.request.due_soon" in await _events(b, rid)


async def test_a_loan_recalled_while_in_transit_can_still_be_received_and_returned(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 9)])
        created = await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"), json={"cluster_id": 9})
        rid = created.json()["id"]
        lender, home = b.staff("CN-PL"), b.staff("CN-U1-ENG")
        await b.act(rid, "will_supply", lender)
        await b.act(rid, "ship", lender)
        assert (await b.act(rid, "request_renewal", home)).status_code == 409  # not before it arrives
        recalled = (await b.act(rid, "recall", lender)).json()
        assert (recalled["requester_state"], recalled["supplier_state"]) == ("shipped", "recalled")
        received = (await b.act(rid, "receive", home)).json()
        assert (received["requester_state"], received["supplier_state"]) == ("received", "recalled")
        assert "check_out" in received["allowed_actions"] and "return_item" in received["allowed_actions"]
        returned = (await b.act(rid, "return_item", home)).json()
        assert returned["requester_state"] == "returned"
        assert (await b.act(rid, "check_in", lender)).json()["requester_state"] == "completed"
