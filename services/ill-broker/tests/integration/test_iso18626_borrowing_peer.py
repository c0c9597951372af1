"""An outside borrower over real HTTP: its resent actions are confirmed without a change, its Cancel and
StatusRequest are answered through the peer outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from broker_fixtures import Broker, item
from peer_fixtures import LENDER, action, answering, borrowing, later, queued

from bibliomesh_ill.adapters.tables import requests
from bibliomesh_ill.iso18626 import (
    Action,
    AgencyId,
    ErrorType,
    ReasonForMessage,
    Request,
    Status,
    SupplyingAgencyMessage,
)
from bibliomesh_ill.iso18626.peer_client import PeerRejected
from tests.support.iso18626_peer import Iso18626Peer


async def test_resent_actions_are_confirmed_without_a_change(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        pl = b.staff("CN-PL")
        assert (await b.act(rid, "will_supply", pl)).status_code == 200
        assert (await b.act(rid, "ship", pl)).status_code == 200
        for what in (Action.RECEIVED, Action.RENEW, Action.SHIPPED_RETURN):
            message = action(peer, request, what)
            assert (await peer.send(message, endpoint)).ok
            resent = await peer.send(message, endpoint)
            assert resent.ok, (what, resent.error_data)
        steps = await b.steps(rid)
        assert [s for s in steps if s in ("received", "renewal_requested", "returned")] == \
            ["received", "renewal_requested", "returned"]
        before = await b.stored(rid)

        with pytest.raises(PeerRejected) as refused:  # not a resend (a new timestamp): Received once it went back
            await peer.send(later(action(peer, request, Action.RECEIVED)), endpoint)
        assert refused.value.confirmation.error_data[0].error_type is ErrorType.UNSUPPORTED_ACTION_TYPE
        assert await b.stored(rid) == before


async def test_a_cancel_before_the_lender_answered_is_answered_and_a_resent_one_confirmed(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        cancel = action(peer, request, Action.CANCEL)
        assert (await peer.send(cancel, endpoint)).ok
        assert (await peer.send(cancel, endpoint)).ok
        answer = await peer.wait_received(answering(ReasonForMessage.CANCEL_RESPONSE), "a CancelResponse")
        assert isinstance(answer, SupplyingAgencyMessage)
        assert (answer.message_info.answer_yes_no, answer.status_info.status) == (True, Status.CANCELLED)
        assert answer.header.requesting_agency_request_id == request.header.requesting_agency_request_id
        assert (await b.steps(rid)).count("cancelled") == 1
        assert [m["step"] for m in await queued(b, rid)].count("cancelled") == 1


async def test_a_status_request_is_answered_with_the_current_status(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        assert (await b.act(rid, "will_supply", b.staff("CN-PL"))).status_code == 200
        assert (await peer.send(action(peer, request, Action.STATUS_REQUEST), endpoint)).ok
        answer = await peer.wait_received(answering(ReasonForMessage.STATUS_REQUEST_RESPONSE),
                                          "a StatusRequestResponse")
        assert isinstance(answer, SupplyingAgencyMessage)
        assert answer.status_info.status is Status.WILL_SUPPLY
        assert answer.header.supplying_agency_id == LENDER
        assert answer.header.requesting_agency_request_id == request.header.requesting_agency_request_id


async def broker_id(b: Broker, request: Request) -> str:
    async with b.runtime.engine.connect() as conn:
        return str(await conn.scalar(sa.select(requests.c.id).where(
            requests.c.peer_request_id == request.header.requesting_agency_request_id)))


def about(peer: Iso18626Peer, request: Request) -> list[SupplyingAgencyMessage]:
    return [m for m in peer.received if isinstance(m, SupplyingAgencyMessage)
            and m.header.requesting_agency_request_id == request.header.requesting_agency_request_id]


async def test_replies_come_from_the_library_addressed_and_end_with_its_own_reason(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, _, request, rid):
        assert (await b.client.post(f"/ill/requests/{rid}/actions/cannot_supply", headers=b.staff("CN-PL"),
                                    json={"reason": "NotHeld"})).status_code == 200
        await peer.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage)
                                 and m.status_info.status is Status.UNFILLED, "Unfilled")
        answers = about(peer, request)
        assert [(m.status_info.status, m.message_info.reason_for_message) for m in answers] == [
            (Status.EXPECT_TO_SUPPLY, ReasonForMessage.STATUS_CHANGE),
            (Status.UNFILLED, ReasonForMessage.STATUS_CHANGE)]  # no Notification "trying the next library"
        assert {m.header.supplying_agency_id for m in answers} == {LENDER}
        assert answers[-1].message_info.reason_unfilled is not None
        assert answers[-1].message_info.reason_unfilled.value == "NotHeld"


async def test_replies_to_a_request_for_the_broker_come_from_the_broker_as_the_rota_goes_on(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, _, _):
        await b.add_holdings([item("CN-U1-MED", "m1", 12, isbns=["9787020002207"])], version=2)
        broker_agency = AgencyId(agency_id_type="ISIL", agency_id_value="BIBLIOMESH")
        request, confirmation = await peer.send_request(endpoint, broker_agency, isbn="9787020002207")
        assert confirmation.ok, confirmation
        rid = await broker_id(b, request)
        declining = (await b.stored(rid))["lender"]
        assert (await b.client.post(f"/ill/requests/{rid}/actions/cannot_supply", headers=b.staff(declining),
                                    json={"reason": "NotHeld"})).status_code == 200
        supplying = (await b.stored(rid))["lender"]
        assert supplying not in (None, declining)
        assert (await b.act(rid, "will_supply", b.staff(supplying))).status_code == 200
        await peer.wait_received(lambda m: m in about(peer, request) and m.status_info.status is Status.WILL_SUPPLY,
                                 "WillSupply")
        answers = about(peer, request)
        assert [m.message_info.reason_for_message for m in answers].count(ReasonForMessage.NOTIFICATION) == 1
        assert {m.header.supplying_agency_id for m in answers} == {broker_agency}
