"""Both directions over real HTTP with a loopback ISO 18626 peer: it lends to the platform and borrows from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from broker_fixtures import Broker, broker, item, region
from peer_fixtures import FAST, PEER, SECRET, peer_snapshot, queued

from bibliomesh_ill.adapters.tables import peer_messages
from bibliomesh_ill.iso18626 import (
    Action,
    AgencyId,
    ErrorData,
    ErrorType,
    Request,
    RequestingAgencyMessage,
    Status,
    SupplyingAgencyMessage,
)
from bibliomesh_ill.iso18626.peer_client import PeerClient, PeerRejected
from bibliomesh_ill.service_layer.peers.delivery import deliver_due
from meshkit.testing import eventually
from tests.support.iso18626_peer import iso18626_peer
from tests.support.serving import serving


async def _state(b: Broker, request_id: str, staff: dict[str, str]) -> dict[str, object]:
    return (await b.client.get(f"/ill/requests/{request_id}", headers=staff)).json()  # type: ignore[no-any-return]


async def test_a_peer_outside_the_platform_lends_through_iso18626(tmp_path: Path) -> None:
    async with broker(tmp_path, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        peer.act_as_supplier(endpoint)
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item(PEER, "z1", 11)])
        home = b.staff("CN-U1-ENG")
        created = await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"), json={"cluster_id": 11})
        rid = created.json()["id"]

        async def shipped() -> bool:
            return (await _state(b, rid, home))["requester_state"] == "shipped"

        await eventually(shipped)
        request_sent = peer.received[0]
        assert request_sent.kind == "request" and request_sent.header.requesting_agency_request_id == rid
        assert (await _state(b, rid, home))["due_date"]

        assert (await b.act(rid, "receive", home)).status_code == 200
        assert (await b.act(rid, "return_item", home)).status_code == 200

        async def completed() -> bool:
            return (await _state(b, rid, home))["requester_state"] == "completed"

        await eventually(completed)
        actions = [m.action for m in peer.received if isinstance(m, RequestingAgencyMessage)]
        assert actions == [Action.RECEIVED, Action.SHIPPED_RETURN]
        answers = [(s.message.kind, getattr(s.answer, "ok", s.answer), getattr(s.answer, "error_data", None))
                   for s in peer.sent]
        assert all(ok is True for _, ok, _ in answers), answers


async def test_a_due_date_a_peer_reports_is_taken_as_given_even_if_past(tmp_path: Path) -> None:
    """Staff may not set a due date in the past, but a peer's Loaned message says what it did: refusing it would
    lose the shipment."""
    async with broker(tmp_path, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        peer.act_as_supplier(endpoint, loan_days=-3)
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item(PEER, "z1", 11)])
        home = b.staff("CN-U1-ENG")
        created = await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"), json={"cluster_id": 11})
        rid = created.json()["id"]

        async def shipped() -> bool:
            return (await _state(b, rid, home))["requester_state"] == "shipped"

        await eventually(shipped)
        assert str((await _state(b, rid, home))["due_date"]) < datetime.now(UTC).date().isoformat()


async def test_a_peer_outside_the_platform_borrows_from_a_platform_library(tmp_path: Path) -> None:
    async with broker(tmp_path, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item("CN-PL", "p1", 12, isbns=["9787020002207"])])
        lender = AgencyId(agency_id_type="ISIL", agency_id_value="CN-PL")
        request, confirmation = await peer.send_request(endpoint, lender, isbn="978-7-02-000220-7")
        assert confirmation.ok, confirmation
        pl = b.staff("CN-PL")
        listed = (await b.client.get("/ill/requests", headers=pl, params={"side": "lending"})).json()
        assert [(r["borrower"], r["origin"]) for r in listed] == [(PEER, "iso18626")]
        rid = listed[0]["id"]
        assert (await b.act(rid, "will_supply", pl)).status_code == 200
        assert (await b.act(rid, "ship", pl)).status_code == 200

        def status(wanted: Status):  # type: ignore[no-untyped-def]
            return lambda m: isinstance(m, SupplyingAgencyMessage) and m.status_info.status is wanted

        await peer.wait_received(status(Status.LOANED), "Loaned")
        statuses = [m.status_info.status for m in peer.received if isinstance(m, SupplyingAgencyMessage)]
        assert statuses == [Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY, Status.LOANED]

        for action in (Action.RECEIVED, Action.SHIPPED_RETURN):
            answer = await peer.send_action(endpoint, request, action)
            assert answer.ok, answer
        assert (await _state(b, rid, pl))["requester_state"] == "returned"
        assert (await b.act(rid, "check_in", pl)).status_code == 200
        await peer.wait_received(status(Status.LOAN_COMPLETED), "LoanCompleted")

        with pytest.raises(PeerRejected) as unknown:
            await peer.send_action(endpoint, peer.new_request(lender, request_id="never-sent"), Action.RECEIVED)
        assert unknown.value.confirmation.error_data[0].error_type is ErrorType.UNRECOGNISED_DATA_VALUE


async def test_a_message_the_peer_refused_holds_back_the_later_messages_of_its_request(tmp_path: Path) -> None:
    async with broker(tmp_path, **FAST) as b, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        peer.reject = lambda m: ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE, error_value="no such item") \
            if isinstance(m, Request) else None
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item(PEER, "z1", 11), item(PEER, "z2", 12)])
        patron, home = b.patron("CN-U1-ENG"), b.staff("CN-U1-ENG")
        rid = (await b.submit(patron, cluster_id=11)).json()["id"]

        async def refused() -> bool:
            return [m["status"] for m in await queued(b, rid)] == ["failed"]

        await eventually(refused)
        steps = (await _state(b, rid, home))["steps"]
        failure = steps[-1]  # type: ignore[index]
        assert (failure["step"], failure["action"], failure["details"]["peer"]) == \
            ("peer_message_failed", "routed", PEER), failure
        assert "no such item" in failure["reason"] and peer.url not in failure["reason"]

        assert (await b.act(rid, "cancel", patron)).status_code == 200

        async def cancel_queued() -> bool:
            return len(await queued(b, rid)) == 2

        await eventually(cancel_queued)
        async with PeerClient() as client:  # whatever the worker has not sent yet, this pass would
            assert await deliver_due(b.runtime, client) == 0
        held = await queued(b, rid)
        assert [(m["kind"], m["status"], m["claimed_until"]) for m in held] == \
            [("request", "failed", None), ("requestingAgencyMessage", "pending", None)]
        assert [m.kind for m in peer.received] == ["request"]

        peer.reject = None  # another request to the same peer is not held back by this one
        other = (await b.submit(patron, cluster_id=12)).json()["id"]
        await peer.wait_received(lambda m: m.header.requesting_agency_request_id == other, "the other request")

        async with b.runtime.engine.begin() as conn:  # set back to pending (redelivered): the held ones follow
            await conn.execute(sa.update(peer_messages).where(peer_messages.c.id == held[0]["id"])
                               .values(status="pending"))
        await peer.wait_received(lambda m: isinstance(m, RequestingAgencyMessage), "the Cancel")
        about = [m for m in peer.received if m.header.requesting_agency_request_id == rid]
        assert [(m.kind, getattr(m, "action", None)) for m in about] == \
            [("request", None), ("request", None), ("requestingAgencyMessage", Action.CANCEL)]


async def test_unknown_agencies_and_wrong_credentials_get_iso_errors_and_change_nothing(tmp_path: Path) -> None:
    async with broker(tmp_path, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint:
        async with iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER),
                                 secret="a-wrong-secret") as impostor:
            await b.add_institutions([*region(), peer_snapshot(impostor)])
            lender = AgencyId(agency_id_type="ISIL", agency_id_value="CN-PL")
            with pytest.raises(PeerRejected) as wrong:
                await impostor.send_request(endpoint, lender)
            assert "credentials" in (wrong.value.confirmation.error_data[0].error_value or "")
        async with iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value="XX-NOBODY"),
                                 secret=SECRET) as stranger:
            with pytest.raises(PeerRejected) as unknown:
                await stranger.send_request(endpoint, lender)
            assert unknown.value.confirmation.error_data[0].error_type is ErrorType.UNRECOGNISED_DATA_VALUE
        listed = await b.client.get("/ill/requests", headers=b.staff("CN-PL"), params={"side": "lending"})
        assert listed.json() == []
