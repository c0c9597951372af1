"""ISO 18626 messages that failed before a failed message held back the later ones (migration 0009): then they were
skipped and the trail said nothing. After the upgrade they hold back nothing that was passed already (a patron's
Cancel goes), and those still in the way are in the trail for staff to redeliver or drop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from broker_fixtures import REGION, Broker, broker, region
from peer_fixtures import FAST, PEER, SECRET, peer_snapshot, queued

from bibliomesh_contracts.events.ill import RequestStepV1
from bibliomesh_ill.adapters.tables import peer_messages, request_steps, requests
from bibliomesh_ill.bootstrap import MIGRATIONS
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.domain.tiers import Member
from bibliomesh_ill.iso18626 import Action, AgencyId, RequestingAgencyMessage
from bibliomesh_ill.iso18626.models import ANY_MESSAGE
from bibliomesh_ill.iso18626.peer_client import PeerClient
from bibliomesh_ill.service_layer.peers.delivery import deliver_due
from bibliomesh_ill.service_layer.peers.outbound import messages_for
from bibliomesh_ill.settings import IllSettings
from meshkit.db import create_engine
from meshkit.migrations import alembic_config, upgrade
from meshkit.testing import eventually
from tests.support.infra import postgres_database
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer

HOME = "CN-U1-ENG"
PATRON = f"patron:{HOME}:reader"
# passed: its Request failed, the Notification after it went; alone: its Request failed, nothing after it;
# held: failed after the upgrade to the hold (so in its trail), the Notification after it waits on purpose
PASSED, ALONE, HELD = "r-passed", "r-alone", "r-held"


def _request(request_id: str, requester: R, supplier: S, now: datetime) -> IllRequest:
    return IllRequest(id=request_id, borrower=HOME, patron_id=PATRON, created_by=PATRON, origin="platform",
                      item_key=f"book {request_id}", citation={"title": f"Book {request_id}"},
                      title=f"Book {request_id}", service_type="loan", service_level="normal",
                      requester_state=requester, supplier_state=supplier, lender=PEER, cluster_id=11,
                      created_at=now, updated_at=now, version=1)


def _message(request: IllRequest, step: str, peer_url: str, status: str, now: datetime) -> dict[str, Any]:
    """The row the broker queued for `step` to the peer, as it stands after being sent or given up."""
    lender = Member(code=PEER, kind="external-peer", parent_code=None, regions=frozenset(REGION), open_sharing=False,
                    active=True, iso18626={"endpoint_url": peer_url, "schema_version": "1.2"})
    event = RequestStepV1(request_id=request.id, step=step, borrower=HOME, lender=PEER, service_type="loan",
                          title=request.title, requester_state=request.requester_state, actor=PATRON, occurred_at=now)
    [out] = messages_for(event, request, lender, None, "BIBLIOMESH", "ISIL", now)
    failed = status == "failed"
    return {"request_id": request.id, "step": step, "peer": PEER, "url": out.url, "version": out.version.value,
            "kind": out.message.kind, "message": ANY_MESSAGE.dump_json(out.message).decode(), "status": status,
            "attempts": 12 if failed else 1, "next_attempt_at": now, "created_at": now,
            "last_error": f"request timed out ({peer_url})" if failed else None, "sent_at": None if failed else now}


async def _stored_before_the_upgrade(url: str, peer_url: str) -> None:
    """A database at revision 0008 holding the three requests and their messages to the peer."""
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0008")
    now = datetime.now(UTC)
    passed = _request(PASSED, R.WILL_SUPPLY, S.AWAITING_SHIP, now)
    alone = _request(ALONE, R.SENT_TO_SUPPLIER, S.NEW, now)
    held = _request(HELD, R.WILL_SUPPLY, S.AWAITING_SHIP, now)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(requests), [r.columns() for r in (passed, alone, held)])
            await conn.execute(sa.insert(peer_messages), [
                _message(passed, "routed", peer_url, "failed", now),
                _message(passed, "conditions_accepted", peer_url, "sent", now),
                _message(alone, "routed", peer_url, "failed", now),
                _message(held, "routed", peer_url, "failed", now),
                _message(held, "conditions_accepted", peer_url, "pending", now)])
            await conn.execute(sa.insert(request_steps).values(
                request_id=HELD, step="peer_message_failed", action="routed", actor="system", party="system",
                lender=PEER, requester_state=held.requester_state, supplier_state=held.supplier_state,
                reason="request timed out", note=f"ISO 18626 request to {PEER} not delivered",
                details={"peer": PEER, "kind": "request", "attempts": 12}, occurred_at=now))
    finally:
        await engine.dispose()


async def _stored(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(id, request, status) of every message and (id, request, step, details) of every step."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            messages = (await conn.execute(sa.select(peer_messages.c.id, peer_messages.c.request_id,
                                                     peer_messages.c.status).order_by(peer_messages.c.id))).all()
            steps = (await conn.execute(sa.select(request_steps.c.id, request_steps.c.request_id,
                                                  request_steps.c.step, request_steps.c.details)
                                        .order_by(request_steps.c.id))).all()
            return [tuple(m) for m in messages], [tuple(s) for s in steps]
    finally:
        await engine.dispose()


def _about(peer: Iso18626Peer, request_id: str) -> list[tuple[str, Action | None]]:
    return [(m.kind, getattr(m, "action", None)) for m in peer.received
            if m.header.requesting_agency_request_id == request_id]


def _marked(trail: list[dict[str, Any]], step: str) -> list[dict[str, Any]]:
    return [s for s in trail if s["step"] == step]


async def _after_the_upgrade(b: Broker, peer: Iso18626Peer) -> None:
    await b.add_institutions([*region(), peer_snapshot(peer)])
    staff, patron = b.staff(HOME), b.patron(HOME)
    passed, alone, held = [await queued(b, rid) for rid in (PASSED, ALONE, HELD)]
    assert [m["status"] for m in passed] == ["dropped", "sent"]
    assert [m["status"] for m in alone] == ["failed"]
    assert [m["status"] for m in held] == ["failed", "pending"]  # failed under the hold: left for staff

    [dropped] = _marked(await b.trail(PASSED), "peer_message_dropped")
    assert (dropped["actor"], dropped["details"]["message_id"]) == ("system", passed[0]["id"])
    assert "later messages" in dropped["reason"] and PEER in dropped["note"]
    [failed] = _marked(await b.trail(ALONE), "peer_message_failed")
    assert (failed["action"], failed["details"]["message_id"], failed["details"]["peer"]) == \
        ("routed", alone[0]["id"], PEER)
    assert peer.url not in failed["note"] and "redelivered or dropped" in failed["note"]
    assert len(_marked(await b.trail(HELD), "peer_message_failed")) == 1

    # What is still failed is where staff look, and holds back the request's next message to the peer...
    assert (await b.act(ALONE, "cancel", patron)).status_code == 200

    async def cancel_queued() -> bool:
        return len(await queued(b, ALONE)) == 2

    await eventually(cancel_queued)
    listed = (await b.client.get(f"/ill/requests/{ALONE}/peer-messages", headers=staff)).json()
    assert [(m["status"], m["holds_later"], m["held_by"]) for m in listed] == \
        [("failed", True, None), ("pending", False, alone[0]["id"])]

    # ...while what was passed before the upgrade holds back nothing: the patron's Cancel goes.
    assert (await b.act(PASSED, "cancel", patron)).status_code == 200
    await peer.wait_received(lambda m: isinstance(m, RequestingAgencyMessage) and
                             m.header.requesting_agency_request_id == PASSED, "the Cancel")
    assert _about(peer, PASSED) == [("requestingAgencyMessage", Action.CANCEL)]
    async with PeerClient() as client:  # whatever the worker has not sent yet, this pass would
        assert await deliver_due(b.runtime, client) == 0
    assert _about(peer, ALONE) == _about(peer, HELD) == []


async def test_messages_failed_before_the_hold_stop_holding_back_new_ones(tmp_path: Path) -> None:
    async with iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        await _stored_before_the_upgrade(IllSettings(data_dir=tmp_path).effective_database_url(), peer.url)
        async with broker(tmp_path, **FAST) as b:
            await _after_the_upgrade(b, peer)


@pytest.mark.integration
async def test_messages_failed_before_the_hold_stop_holding_back_new_ones_on_postgresql(tmp_path: Path) -> None:
    async with iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer, \
            postgres_database("bm_ill_failed_before_hold") as url:
        await _stored_before_the_upgrade(url, peer.url)
        async with broker(tmp_path, database_url=url, **FAST) as b:
            await _after_the_upgrade(b, peer)


async def _undone_by_the_downgrade(url: str) -> None:
    await _stored_before_the_upgrade(url, "https://peer.example/iso18626")
    before = await _stored(url)
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0009")
    assert await _stored(url) != before
    await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0008")
    assert await _stored(url) == before


async def test_the_downgrade_puts_the_messages_and_trails_back(tmp_path: Path) -> None:
    await _undone_by_the_downgrade(IllSettings(data_dir=tmp_path).effective_database_url())


@pytest.mark.integration
async def test_the_downgrade_puts_the_messages_and_trails_back_on_postgresql() -> None:
    async with postgres_database("bm_ill_failed_before_hold_down") as url:
        await _undone_by_the_downgrade(url)
