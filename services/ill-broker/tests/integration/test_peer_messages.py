"""Staff release a request's ISO 18626 messages held back by one the peer refused: redelivered it goes first, dropped
the ones behind it go; only the institution the messages speak for (and support) may see or touch them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from broker_fixtures import Broker, broker, item, region
from peer_fixtures import FAST, PEER, SECRET, peer_snapshot, queued

from bibliomesh_ill.adapters.peer_outbox import PeerOutbox
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
from meshkit.testing import eventually
from meshkit.web import MAX_ID
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer
from tests.support.serving import serving

HOME = "CN-U1-ENG"
NO_SUCH_ITEM = ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE, error_value="no such item")


def refuse_requests(message: Any) -> ErrorData | None:
    return NO_SUCH_ITEM if isinstance(message, Request) else None


@asynccontextmanager
async def held(tmp_path: Path) -> AsyncIterator[tuple[Broker, Iso18626Peer, str]]:
    """A request whose ISO request the outside lender refused, and whose Cancel waits behind it."""
    async with broker(tmp_path, **FAST) as b, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        peer.reject = refuse_requests
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item(PEER, "z1", 11), item(PEER, "z2", 12)])
        patron = b.patron(HOME)
        rid = (await b.submit(patron, cluster_id=11)).json()["id"]

        async def refused() -> bool:
            return [m["status"] for m in await queued(b, rid)] == ["failed"]

        await eventually(refused)
        assert (await b.act(rid, "cancel", patron)).status_code == 200

        async def cancel_queued() -> bool:
            return len(await queued(b, rid)) == 2

        await eventually(cancel_queued)
        yield b, peer, rid


def messages(b: Broker, rid: str, as_: dict[str, str]) -> Any:
    return b.client.get(f"/ill/requests/{rid}/peer-messages", headers=as_)


def release(b: Broker, rid: str, message_id: object, what: str, as_: dict[str, str]) -> Any:
    return b.client.post(f"/ill/requests/{rid}/peer-messages/{message_id}/{what}", headers=as_)


def about(peer: Iso18626Peer, rid: str) -> list[tuple[str, Action | None]]:
    return [(m.kind, getattr(m, "action", None)) for m in peer.received if m.header.requesting_agency_request_id == rid]


def conflict(response: httpx.Response, status: str) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert f"is {status}: only a failed message" in response.json()["detail"]


async def test_staff_see_the_refused_message_holding_and_redeliver_it_before_the_held_one(tmp_path: Path) -> None:
    async with held(tmp_path) as (b, peer, rid):
        staff = b.staff(HOME)
        listed = await messages(b, rid, staff)
        assert listed.status_code == 200, listed.text
        refused, cancel = listed.json()
        assert {k: refused[k] for k in ("peer", "on_behalf_of", "step", "kind", "status", "holds_later", "held_by")} \
            == {"peer": PEER, "on_behalf_of": HOME, "step": "routed", "kind": "request", "status": "failed",
                "holds_later": True, "held_by": None}
        assert "no such item" in refused["last_error"] and peer.url not in refused["last_error"]
        assert "url" not in refused and "message" not in refused and refused["next_attempt_at"] is None
        assert (cancel["kind"], cancel["status"], cancel["held_by"], cancel["holds_later"]) == \
            ("requestingAgencyMessage", "pending", refused["id"], False)

        peer.reject = None
        redelivered = await release(b, rid, refused["id"], "redeliver", staff)
        assert redelivered.status_code == 200, redelivered.text
        assert (redelivered.json()["status"], redelivered.json()["attempts"]) == ("pending", 0)
        await peer.wait_received(lambda m: isinstance(m, RequestingAgencyMessage), "the Cancel")
        assert about(peer, rid) == [("request", None), ("request", None), ("requestingAgencyMessage", Action.CANCEL)]

        async def all_sent() -> bool:
            return [m["status"] for m in (await messages(b, rid, staff)).json()] == ["sent", "sent"]

        await eventually(all_sent)
        step = next(s for s in await b.trail(rid) if s["step"] == "peer_message_redelivered")
        assert (step["actor"], step["actor_institution"], step["party"], step["action"]) == \
            (f"staff:{HOME}", HOME, "borrower", "redeliver_peer_message")
        assert step["details"]["message_id"] == refused["id"] and PEER in step["note"]

        conflict(await release(b, rid, refused["id"], "redeliver", staff), "sent")
        conflict(await release(b, rid, cancel["id"], "drop", staff), "sent")


async def test_staff_drop_the_refused_message_and_the_held_one_goes(tmp_path: Path) -> None:
    async with held(tmp_path) as (b, peer, rid):
        staff = b.staff(HOME)
        refused, cancel = (await messages(b, rid, staff)).json()
        conflict(await release(b, rid, cancel["id"], "redeliver", staff), "pending")
        conflict(await release(b, rid, cancel["id"], "drop", staff), "pending")

        dropped = await release(b, rid, refused["id"], "drop", staff)
        assert dropped.status_code == 200, dropped.text
        assert (dropped.json()["status"], dropped.json()["holds_later"]) == ("dropped", False)
        await peer.wait_received(lambda m: isinstance(m, RequestingAgencyMessage), "the Cancel")
        assert about(peer, rid) == [("request", None), ("requestingAgencyMessage", Action.CANCEL)]
        assert [s["step"] for s in await b.trail(rid)].count("peer_message_dropped") == 1

        conflict(await release(b, rid, refused["id"], "redeliver", staff), "dropped")
        conflict(await release(b, rid, refused["id"], "drop", staff), "dropped")


async def test_of_two_staff_releasing_one_message_at_once_the_later_is_told_what_the_other_made_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with held(tmp_path) as (b, _peer, rid):
        staff = b.staff(HOME)
        refused, _ = (await messages(b, rid, staff)).json()
        settle_failed = PeerOutbox.settle_failed

        async def overtaken(outbox: PeerOutbox, message_id: int, values: dict[str, Any]) -> bool:
            # support drops it between this caller's read of the message (failed) and its update
            monkeypatch.setattr(PeerOutbox, "settle_failed", settle_failed)
            assert (await release(b, rid, message_id, "drop", b.admin())).status_code == 200
            return await settle_failed(outbox, message_id, values)

        monkeypatch.setattr(PeerOutbox, "settle_failed", overtaken)
        late = await release(b, rid, refused["id"], "redeliver", staff)
        conflict(late, "dropped")
        assert late.json()["message_status"] == "dropped"
        assert (await queued(b, rid))[0]["status"] == "dropped"
        trail = [(s["step"], s["actor"]) for s in await b.trail(rid) if s["step"].startswith("peer_message_")]
        assert trail[-1] == ("peer_message_dropped", "admin:platform")
        assert "peer_message_redelivered" not in {step for step, _ in trail}


async def test_only_the_sending_library_and_support_may_see_or_release_its_messages(tmp_path: Path) -> None:
    async with held(tmp_path) as (b, _peer, rid):
        refused, _ = (await messages(b, rid, b.staff(HOME))).json()
        people = {
            "patron": b.patron(HOME),
            "unrelated staff": b.staff("CN-PL"),
            "parent university staff": b.staff("CN-U1"),
            "staff without ill:manage": b.tokens.headers(HOME, scopes=["ill:request", "ill:lend"], subject="s:2"),
            "nobody": {},
        }
        expected = {"patron": 403, "unrelated staff": 403, "parent university staff": 403,
                    "staff without ill:manage": 403, "nobody": 401}
        assert {name: (await messages(b, rid, h)).status_code for name, h in people.items()} == expected
        for what in ("redeliver", "drop"):
            got = {name: (await release(b, rid, refused["id"], what, h)).status_code for name, h in people.items()}
            assert got == expected, what
        assert [m["status"] for m in await queued(b, rid)] == ["failed", "pending"]
        assert not {"peer_message_redelivered", "peer_message_dropped"} & {s["step"] for s in await b.trail(rid)}

        support = await messages(b, rid, b.admin())
        assert [m["id"] for m in support.json()] == [m["id"] for m in await queued(b, rid)]

        other = (await b.submit(b.patron(HOME), cluster_id=12)).json()["id"]

        async def other_refused() -> bool:
            return [m["status"] for m in await queued(b, other)] == ["failed"]

        await eventually(other_refused)
        elsewhere = (await queued(b, other))[0]["id"]
        staff = b.staff(HOME)
        for what in ("redeliver", "drop"):
            assert (await release(b, rid, elsewhere, what, staff)).status_code == 404, what
            assert (await release(b, rid, MAX_ID, what, staff)).status_code == 404, what
            for bad in ("x", 0, -1, MAX_ID + 1):
                assert (await release(b, rid, bad, what, staff)).status_code == 422, (what, bad)
        assert [m["status"] for m in await queued(b, other)] == ["failed"]
        assert (await messages(b, "no-such-request", staff)).status_code == 404
        assert (await messages(b, "r" * 41, staff)).status_code == 422


async def test_the_lender_manages_what_it_tells_an_outside_borrower(tmp_path: Path) -> None:
    async with broker(tmp_path, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        peer.reject = lambda m: NO_SUCH_ITEM if isinstance(m, SupplyingAgencyMessage) else None
        await b.add_institutions([*region(), peer_snapshot(peer)])
        await b.add_holdings([item("CN-PL", "p1", 12, isbns=["9787020002207"])])
        lender = AgencyId(agency_id_type="ISIL", agency_id_value="CN-PL")
        _, confirmation = await peer.send_request(endpoint, lender, isbn="978-7-02-000220-7")
        assert confirmation.ok, confirmation
        pl = b.staff("CN-PL")
        rid = (await b.client.get("/ill/requests", headers=pl, params={"side": "lending"})).json()[0]["id"]

        async def refused() -> bool:
            return [m["status"] for m in await queued(b, rid)] == ["failed"]

        await eventually(refused)
        listed = (await messages(b, rid, pl)).json()
        assert [(m["kind"], m["on_behalf_of"], m["status"]) for m in listed] == \
            [("supplyingAgencyMessage", "CN-PL", "failed")]
        # the borrower's own side (a token of the outside library) and the platform's other libraries see none
        outside = b.tokens.headers(PEER, scopes=["ill:manage"], subject="staff:peer")
        assert (await messages(b, rid, outside)).json() == []
        assert (await release(b, rid, listed[0]["id"], "redeliver", outside)).status_code == 403
        assert (await messages(b, rid, b.staff(HOME))).status_code == 403

        peer.reject = None
        assert (await release(b, rid, listed[0]["id"], "redeliver", pl)).status_code == 200
        await peer.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage) and
                                 m.status_info.status is Status.EXPECT_TO_SUPPLY, "the ExpectToSupply")
        step = next(s for s in await b.trail(rid) if s["step"] == "peer_message_redelivered")
        assert (step["actor_institution"], step["party"]) == ("CN-PL", "lender")
