"""The peer client against a real ISO 18626 peer on loopback HTTP: confirmations, retries, refusals, and the
loopback peer's own scripts (supplier and requester) driving a whole loan between two peers."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import pytest

from bibliomesh_ill.iso18626 import (
    Action,
    AgencyId,
    Authentication,
    ErrorData,
    ErrorType,
    Message,
    ReasonForMessage,
    Request,
    RequestConfirmation,
    SerializationError,
    Status,
    StatusInfo,
    SupplyingAgencyMessage,
    Version,
)
from bibliomesh_ill.iso18626.peer_client import (
    PeerClient,
    PeerProtocolError,
    PeerRejected,
    PeerUnreachable,
    RetryPolicy,
)
from meshkit.testing import free_port
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer

FAST = RetryPolicy(attempts=4, first_delay_seconds=0.01, max_delay_seconds=0.05, timeout_seconds=5)
BORROWER = AgencyId(agency_id_type="ISIL", agency_id_value="CN-BORROW")
LENDER = AgencyId(agency_id_type="ISIL", agency_id_value="CN-LEND")


def request_to(peer: Iso18626Peer, *, secret: str | None = None) -> Request:
    request = peer.new_request(peer.agency, title="Fortress Besieged", isbn="9787020024759")
    auth = Authentication(account_id="acct", security_code=secret) if secret else None
    header = request.header.model_copy(update={"requesting_agency_id": BORROWER,
                                               "requesting_agency_authentication": auth})
    return request.model_copy(update={"header": header})


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_send_returns_the_peers_ok_confirmation() -> None:
    async with iso18626_peer() as peer, PeerClient(retry=FAST) as client:
        request = request_to(peer)
        confirmation = await client.send(request, peer.url)
        assert isinstance(confirmation, RequestConfirmation) and confirmation.ok
        header = confirmation.confirmation_header
        assert header.requesting_agency_request_id == request.header.requesting_agency_request_id
        assert peer.received == [request]


async def test_503_is_retried_with_growing_pauses_then_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bibliomesh_ill.iso18626.peer_client")
    sleep = RecordedSleep()
    async with iso18626_peer() as peer, PeerClient(retry=FAST, sleep=sleep, jitter=lambda: 0.0) as client:
        peer.fail_next(2, status=503)
        confirmation = await client.send(request_to(peer, secret="s3cret"), peer.url)
        assert confirmation.ok and len(peer.raw) == 3 and len(peer.received) == 1
    assert sleep.delays == [0.005, 0.01]  # half of 0.01 * 2**n, the other half being jitter
    attempts = [(r.attempt, r.http_status, r.levelname) for r in caplog.records]  # type: ignore[attr-defined]
    assert attempts == [(1, 503, "WARNING"), (2, 503, "WARNING"), (3, 200, "INFO")]
    assert all(r.peer == peer.url for r in caplog.records)  # type: ignore[attr-defined]
    assert "s3cret" not in caplog.text and "Fortress" not in caplog.text


async def test_gives_up_after_the_last_attempt() -> None:
    sleep = RecordedSleep()
    async with iso18626_peer() as peer, PeerClient(retry=FAST, sleep=sleep) as client:
        peer.fail_next(10, status=502)
        with pytest.raises(PeerUnreachable) as caught:
            await client.send(request_to(peer), peer.url)
        assert caught.value.attempts == 4 and caught.value.last_failure == "HTTP 502"
        assert len(peer.raw) == 4 and len(sleep.delays) == 3 and peer.received == []


async def test_a_peer_that_is_down_is_unreachable_after_retrying() -> None:
    url = f"http://127.0.0.1:{free_port()}/iso18626"
    async with iso18626_peer() as peer, PeerClient(retry=FAST, sleep=RecordedSleep()) as client:
        with pytest.raises(PeerUnreachable, match="ConnectError"):
            await client.send(request_to(peer), url)


async def test_an_error_confirmation_raises_the_peers_iso_error_without_retrying() -> None:
    async with iso18626_peer() as peer, PeerClient(retry=FAST) as client:
        peer.reject = lambda message: ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE,
                                                error_value="supplyingAgencyId: not us")
        with pytest.raises(PeerRejected) as caught:
            await client.send(request_to(peer), peer.url)
        assert caught.value.errors == [ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE,
                                                 error_value="supplyingAgencyId: not us")]
        assert len(peer.raw) == 1


async def test_an_answer_that_is_not_a_confirmation_is_a_protocol_error_without_retrying() -> None:
    async with iso18626_peer() as peer, PeerClient(retry=FAST) as client:
        peer.fail_next(1, status=404)
        with pytest.raises(PeerProtocolError) as caught:
            await client.send(request_to(peer), peer.url)
        assert caught.value.status_code == 404 and len(peer.raw) == 1


async def test_a_message_the_schema_refuses_is_never_sent() -> None:
    async with iso18626_peer() as peer, PeerClient(retry=FAST) as client:
        invalid: Message = SupplyingAgencyMessage(
            header=request_to(peer).header, message_info={"reason_for_message": ReasonForMessage.STATUS_CHANGE},
            status_info=StatusInfo(status=None, last_change=datetime.now(UTC)))
        with pytest.raises(SerializationError):
            await client.send(invalid, peer.url)
        assert peer.raw == []


@pytest.mark.parametrize("version", [Version.V1_2, Version.V2021])
async def test_a_scripted_supplier_and_requester_complete_a_loan(version: Version) -> None:
    async with iso18626_peer(agency=BORROWER, version=version, secret="b-secret") as borrower, \
            iso18626_peer(agency=LENDER, version=version, secret="l-secret") as lender:
        lender.act_as_supplier(borrower.url)
        request, confirmation = await borrower.send_request(lender.url, LENDER, title="Rickshaw Boy")
        assert confirmation.ok
        await borrower.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage)
                                     and m.status_info.status is Status.LOANED, "Loaned")
        answers = [m for m in borrower.received if isinstance(m, SupplyingAgencyMessage)]
        assert [(m.status_info.status, m.message_info.reason_for_message) for m in answers] == [
            (Status.EXPECT_TO_SUPPLY, ReasonForMessage.REQUEST_RESPONSE),
            (Status.WILL_SUPPLY, ReasonForMessage.STATUS_CHANGE), (Status.LOANED, ReasonForMessage.STATUS_CHANGE)]
        assert answers[-1].status_info.due_date is not None and answers[-1].delivery_info is not None
        assert {m.header.requesting_agency_request_id for m in answers} == {request.header.requesting_agency_request_id}
        assert all(m.version is version for m in answers)
        assert all(sent.answer.ok for sent in await lender.wait_sent(3))  # type: ignore[union-attr]

        assert (await borrower.send_action(lender.url, request, Action.RECEIVED)).ok
        assert (await borrower.send_action(lender.url, request, Action.SHIPPED_RETURN)).ok
        await borrower.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage)
                                     and m.status_info.status is Status.LOAN_COMPLETED, "LoanCompleted")
        actions = [m for m in lender.received if not isinstance(m, Request)]
        assert [m.action for m in actions] == [Action.RECEIVED, Action.SHIPPED_RETURN]  # type: ignore[union-attr]
        lenders_id = answers[0].header.supplying_agency_request_id
        assert lenders_id and actions[0].header.supplying_agency_request_id == lenders_id  # type: ignore[union-attr]
        assert all(f'ill:version="{version.value}"'.encode() in body for body in borrower.raw + lender.raw)
        # Each proves who it is: HTTP Basic always, the header's security code where the edition has room.
        assert set(borrower.authorization) == {"Basic " + base64.b64encode(b"CN-LEND:l-secret").decode()}
        assert set(lender.authorization) == {"Basic " + base64.b64encode(b"CN-BORROW:b-secret").decode()}
        auth = lender.received[0].header.requesting_agency_authentication  # type: ignore[union-attr]
        assert auth is not None and auth.security_code == "b-secret"
        in_header = {m.header.requesting_agency_authentication for m in answers}
        assert in_header == ({None} if version is Version.V2021 else {lender.credentials()})


async def test_a_supplier_scripted_to_say_no_answers_unfilled() -> None:
    async with iso18626_peer(agency=BORROWER) as borrower, iso18626_peer(agency=LENDER) as lender:
        lender.act_as_supplier(borrower.url, [Status.UNFILLED])
        await borrower.send_request(lender.url, LENDER)
        answer = await borrower.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage), "an answer")
        assert isinstance(answer, SupplyingAgencyMessage) and answer.status_info.status is Status.UNFILLED
        assert answer.message_info.reason_unfilled is not None
