"""An outside lender over real HTTP: it may send Loaned without WillSupply first, and its resent answers are
confirmed without a change even once the request has moved on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from broker_fixtures import Broker, broker, item, region
from peer_fixtures import FAST, PEER, SECRET, peer_snapshot

from bibliomesh_ill.iso18626 import (
    AgencyId,
    ErrorType,
    Header,
    ReasonForMessage,
    Status,
    SupplyingAgencyMessage,
)
from bibliomesh_ill.iso18626.peer_client import PeerRejected
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer, now
from tests.support.serving import serving

HOME = "CN-U1-ENG"


@asynccontextmanager
async def lending(tmp_path: Path) -> AsyncIterator[tuple[Broker, Iso18626Peer, str]]:
    """A platform library borrows what only the outside peer holds (cluster 11)."""
    async with broker(tmp_path, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item(PEER, "z1", 11)])
        yield b, peer, endpoint


async def asked(b: Broker, patron: str = "reader") -> str:
    created = await b.submit(b.patron(HOME, patron), cluster_id=11)
    assert created.json()["lender"] == PEER, created.text
    return str(created.json()["id"])


async def changes(b: Broker, request_id: str) -> list[str]:
    """The request's steps, without the deliveries of its messages to the peer (they come when they come)."""
    return [step for step in await b.steps(request_id) if not step.startswith("peer_message_")]


def answer(peer: Iso18626Peer, request_id: str, status: Status,
           reason: ReasonForMessage = ReasonForMessage.STATUS_CHANGE, yes: bool | None = None
           ) -> SupplyingAgencyMessage:
    borrower = AgencyId(agency_id_type="ISIL", agency_id_value=HOME)
    header = Header(supplying_agency_id=peer.agency, requesting_agency_id=borrower, timestamp=now(),
                    requesting_agency_request_id=request_id, requesting_agency_authentication=peer.credentials())
    return peer.supplying_message(header, status, reason, answer=yes)


async def test_loaned_without_will_supply_is_taken_as_both(tmp_path: Path) -> None:
    async with lending(tmp_path) as (b, peer, endpoint):
        first, expected = await asked(b), await asked(b, "another reader")
        assert (await peer.send(answer(peer, expected, Status.EXPECT_TO_SUPPLY), endpoint)).ok
        for rid in (first, expected):
            confirmation = await peer.send(answer(peer, rid, Status.LOANED), endpoint)
            assert confirmation.ok, confirmation.error_data
            stored = await b.stored(rid)
            assert (stored["requester_state"], stored["supplier_state"]) == ("shipped", "shipped")
            assert stored["due_date"] is not None
        assert (await changes(b, first))[-2:] == ["will_supply", "shipped"]
        assert (await changes(b, expected))[-3:] == ["expected", "will_supply", "shipped"]


async def test_a_status_the_request_cannot_take_now_is_an_unsupported_action(tmp_path: Path) -> None:
    async with lending(tmp_path) as (b, peer, endpoint):
        rid = await asked(b)
        with pytest.raises(PeerRejected) as refused:
            await peer.send(answer(peer, rid, Status.LOAN_COMPLETED), endpoint)
        assert refused.value.confirmation.error_data[0].error_type is ErrorType.UNSUPPORTED_ACTION_TYPE
        assert (await b.stored(rid))["requester_state"] == "sent_to_supplier"


async def test_a_resent_unfilled_is_confirmed_after_the_rota_moved_on(tmp_path: Path) -> None:
    async with lending(tmp_path) as (b, peer, endpoint):
        rid = await asked(b)
        unfilled = answer(peer, rid, Status.UNFILLED)
        assert (await peer.send(unfilled, endpoint)).ok
        steps = await changes(b, rid)
        assert steps[-2:] == ["declined", "unfilled"]
        resent = await peer.send(unfilled, endpoint)
        assert resent.ok, resent.error_data
        assert await changes(b, rid) == steps

        with pytest.raises(PeerRejected) as refused:  # anything else from a lender no longer asked is refused
            await peer.send(answer(peer, rid, Status.LOANED), endpoint)
        assert refused.value.confirmation.error_data[0].error_type is ErrorType.UNRECOGNISED_DATA_VALUE


async def test_a_resent_renew_response_is_confirmed_without_a_change(tmp_path: Path) -> None:
    async with lending(tmp_path) as (b, peer, endpoint):
        rid = await asked(b)
        home = b.staff(HOME)
        assert (await peer.send(answer(peer, rid, Status.LOANED), endpoint)).ok
        assert (await b.act(rid, "receive", home)).status_code == 200
        assert (await b.act(rid, "request_renewal", home)).status_code == 200
        renewed = answer(peer, rid, Status.LOANED, ReasonForMessage.RENEW_RESPONSE, yes=True)
        assert (await peer.send(renewed, endpoint)).ok
        stored = await b.stored(rid)
        resent = await peer.send(renewed, endpoint)
        assert resent.ok, resent.error_data
        assert await b.stored(rid) == stored
        assert (await b.steps(rid)).count("renewal_answered") == 1


async def test_a_renew_response_resent_after_the_next_renewal_request_does_not_answer_it(tmp_path: Path) -> None:
    """The lender's late resend of its first RenewResponse is not its answer to the borrower's second request."""
    async with lending(tmp_path) as (b, peer, endpoint):
        rid = await asked(b)
        home = b.staff(HOME)
        assert (await peer.send(answer(peer, rid, Status.LOANED), endpoint)).ok
        assert (await b.act(rid, "receive", home)).status_code == 200
        assert (await b.act(rid, "request_renewal", home)).status_code == 200
        renewed = answer(peer, rid, Status.LOANED, ReasonForMessage.RENEW_RESPONSE, yes=True)
        assert (await peer.send(renewed, endpoint)).ok
        assert (await b.act(rid, "request_renewal", home)).status_code == 200
        stored, events = await b.stored(rid), await b.events(rid)

        resent = await peer.send(renewed, endpoint)
        assert resent.ok, resent.error_data
        assert (await b.stored(rid), await b.events(rid)) == (stored, events)
        assert stored["renewal_pending"] is True
        assert (await b.steps(rid)).count("renewal_answered") == 1
