"""A peer's message resent however late, after the answer to it or after later messages, even across a restart:
confirmed as the first was (OK) and applied once; so is a copy arriving while the first is being applied. A new
header timestamp makes a new message.

"Changes nothing" is checked on everything a user could notice: the request, its audit trail, its events (what
patron notifications are made from) and its messages to peers; every message the peer received, and every
confirmation to a resend, is checked against the official schema."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from broker_fixtures import Broker, statements
from peer_fixtures import (
    PEER,
    SECRET,
    action,
    answering,
    borrow_from_cn_pl,
    borrowing,
    later,
    outside_peer,
    queued,
    schema_valid,
    serving_broker,
)

from bibliomesh_ill.adapters.tables import request_steps
from bibliomesh_ill.bootstrap import MIGRATIONS
from bibliomesh_ill.iso18626 import (
    Action,
    Confirmation,
    Message,
    MessageStatus,
    ReasonForMessage,
    Request,
    Status,
    SupplyingAgencyMessage,
    parse,
    serialize,
)
from meshkit.db import create_engine
from meshkit.migrations import alembic_config
from tests.support.infra import database_on, postgres_database
from tests.support.iso18626_peer import Iso18626Peer
from tests.support.waiting import wait_for


async def settled(b: Broker, peer: Iso18626Peer, request_id: str) -> dict[str, Any]:
    """What a resend must leave as it was, once every message to the peer is delivered (and schema-valid)."""
    outbox = await wait_for(lambda: queued(b, request_id), lambda rows: all(r["status"] == "sent" for r in rows),
                            what="every message to the peer to be delivered")
    assert peer.raw and all(schema_valid(body) for body in peer.raw)
    return {"request": await b.stored(request_id), "trail": await b.trail(request_id),
            "events": await b.events(request_id), "outbox": outbox, "peer received": len(peer.received)}


async def resend(b: Broker, message: Message) -> Confirmation:
    """Send `message` again, byte for byte as before; the broker's confirmation, checked against the schema."""
    answer = await b.client.post("/ill/iso18626", content=serialize(message), auth=(PEER, SECRET),
                                 headers={"content-type": "application/xml"})
    assert answer.status_code == 200 and schema_valid(answer.content), answer.text
    confirmation = parse(answer.content)
    assert isinstance(confirmation, Confirmation)
    return confirmation


def first_answer(peer: Iso18626Peer, message: Message) -> Confirmation:
    answer = next(sent.answer for sent in peer.sent if sent.message == message)
    assert isinstance(answer, Confirmation)
    return answer


def answered_alike(first: Confirmation, again: Confirmation) -> None:
    """The same confirmation but for when it was made: OK, echoing the same header and action."""
    made = {"confirmation_header": {"timestamp"}}
    assert again.confirmation_header.message_status is MessageStatus.OK, again.error_data
    assert again.model_dump(exclude=made) == first.model_dump(exclude=made)


async def renewed_once(b: Broker, peer: Iso18626Peer, endpoint: str, request: Request, rid: str) -> Message:
    """The loan is at the peer, which asked to renew it and had CN-PL's RenewResponse; returns its Renew."""
    pl = b.staff("CN-PL")
    assert (await b.act(rid, "will_supply", pl)).status_code == 200
    assert (await b.act(rid, "ship", pl)).status_code == 200
    assert (await peer.send(action(peer, request, Action.RECEIVED), endpoint)).ok
    renew = action(peer, request, Action.RENEW)
    assert (await peer.send(renew, endpoint)).ok
    assert (await b.act(rid, "answer_renewal", pl, approve=True)).status_code == 200
    await peer.wait_received(answering(ReasonForMessage.RENEW_RESPONSE), "the RenewResponse")
    return renew


@pytest.mark.parametrize("lender", ["accepts", "refuses", "refuses, ships, and the item is received"])
async def test_a_cancel_resent_after_the_lender_answered_is_confirmed_and_changes_nothing(
        tmp_path: Path, lender: str) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        pl = b.staff("CN-PL")
        assert (await b.act(rid, "will_supply", pl)).status_code == 200  # committed: the Cancel asks the lender
        cancel = action(peer, request, Action.CANCEL)
        assert (await peer.send(cancel, endpoint)).ok
        assert (await b.stored(rid))["requester_state"] == "cancel_pending"
        verb = "accept_cancel" if lender == "accepts" else "refuse_cancel"
        assert (await b.act(rid, verb, pl)).status_code == 200
        await peer.wait_received(answering(ReasonForMessage.CANCEL_RESPONSE), "the CancelResponse")
        if "ships" in lender:
            assert (await b.act(rid, "ship", pl)).status_code == 200
            await peer.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage)
                                     and m.status_info.status is Status.LOANED, "Loaned")
            assert (await peer.send(action(peer, request, Action.RECEIVED), endpoint)).ok
        before = await settled(b, peer, rid)

        answered_alike(first_answer(peer, cancel), await resend(b, cancel))
        assert await settled(b, peer, rid) == before
        assert [s["step"] for s in before["trail"]].count("cancel_requested") == 1


async def test_a_renew_resent_after_the_renew_response_is_confirmed_and_changes_nothing(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        renew = await renewed_once(b, peer, endpoint, request, rid)
        before = await settled(b, peer, rid)

        answered_alike(first_answer(peer, renew), await resend(b, renew))
        assert await settled(b, peer, rid) == before
        assert before["request"]["renewal_pending"] is False


async def test_a_second_renew_with_a_new_timestamp_starts_a_second_renewal(tmp_path: Path) -> None:
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        renew = await renewed_once(b, peer, endpoint, request, rid)
        due = (await b.stored(rid))["due_date"]

        assert (await peer.send(later(renew), endpoint)).ok  # the same words, a new message
        assert (await b.stored(rid))["renewal_pending"] is True
        assert (await b.steps(rid)).count("renewal_requested") == 2
        assert [e for e in await b.events(rid) if e.endswith("renewal_requested")] == \
            ["ill.request.renewal_requested"] * 2
        assert (await b.act(rid, "answer_renewal", b.staff("CN-PL"), approve=True)).status_code == 200
        await wait_for(lambda: _renew_responses(peer), lambda answers: len(answers) == 2, what="a second answer")
        assert (await b.stored(rid))["due_date"] > due
        await settled(b, peer, rid)


async def _renew_responses(peer: Iso18626Peer) -> list[SupplyingAgencyMessage]:
    return [m for m in peer.received if isinstance(m, SupplyingAgencyMessage)
            and m.message_info.reason_for_message is ReasonForMessage.RENEW_RESPONSE]


async def test_a_resend_is_known_after_a_restart(tmp_path: Path) -> None:
    """What was applied lives in the database: a broker started afresh on it still knows the message."""
    async with postgres_database("bm_ill") as url, outside_peer() as peer:
        async with serving_broker(tmp_path, url) as (b, endpoint):
            request, rid = await borrow_from_cn_pl(b, peer, endpoint)
            renew = await renewed_once(b, peer, endpoint, request, rid)
            before = await settled(b, peer, rid)
        async with serving_broker(tmp_path, url) as (b, _):
            answered_alike(first_answer(peer, renew), await resend(b, renew))
            assert await settled(b, peer, rid) == before


@asynccontextmanager
async def borrowing_on(kind: str, tmp_path: Path) -> AsyncIterator[tuple[Broker, Iso18626Peer, str, Request, str]]:
    async with database_on(kind, tmp_path, "bm_ill") as url, borrowing(tmp_path, url) as found:
        yield found




def trail_read(seen: list[str]) -> list[str]:
    return [statement for statement in seen if "request_steps" in statement and "SELECT" in statement.upper()]


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("what", [Action.NOTIFICATION, Action.STATUS_REQUEST, Action.CANCEL])
async def test_two_copies_arriving_at_once_are_both_confirmed_and_applied_once(
        kind: str, what: Action, tmp_path: Path) -> None:
    """A peer that timed out and sent its message again while the first copy was still being applied."""
    async with borrowing_on(kind, tmp_path) as (b, peer, _, request, rid):
        assert (await b.act(rid, "will_supply", b.staff("CN-PL"))).status_code == 200
        await peer.wait_received(lambda m: isinstance(m, SupplyingAgencyMessage)
                                 and m.status_info.status is Status.WILL_SUPPLY, "WillSupply")
        before = await settled(b, peer, rid)
        message = action(peer, request, what)

        answers = await asyncio.gather(resend(b, message), resend(b, message))

        assert [a.confirmation_header.message_status for a in answers] == [MessageStatus.OK] * 2, answers
        after = await settled(b, peer, rid)
        added = Counter(step["step"] for step in after["trail"][len(before["trail"]):])
        assert added["peer_message_received"] == 1 and set(added.values()) == {1}, added
        events = Counter(after["events"][len(before["events"]):])
        assert set(events.values()) <= {1}, events
        answered = Counter(row["step"] for row in after["outbox"][len(before["outbox"]):])
        assert set(answered.values()) <= {1}, answered


async def test_a_resend_is_found_without_reading_the_requests_trail(tmp_path: Path) -> None:
    """However long the trail grows, knowing a resend is one lookup by its fingerprint."""
    async with borrowing(tmp_path) as (b, peer, endpoint, request, rid):
        renew = await renewed_once(b, peer, endpoint, request, rid)
        for _ in range(3):
            assert (await peer.send(action(peer, request, Action.NOTIFICATION), endpoint)).ok
        before = await settled(b, peer, rid)

        with statements(b) as seen:
            answered_alike(first_answer(peer, renew), await resend(b, renew))
        assert trail_read(seen) == []
        assert await settled(b, peer, rid) == before


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_reshare_resend_stamped_anew_is_known_by_its_sequence_number(kind: str, tmp_path: Path) -> None:
    async with borrowing_on(kind, tmp_path) as (b, peer, endpoint, request, rid):
        asked = action(peer, request, Action.NOTIFICATION).model_copy(update={"note": "Any news? #seq:7#"})
        assert (await peer.send(asked, endpoint)).ok

        assert (await resend(b, later(asked))).confirmation_header.message_status is MessageStatus.OK
        assert (await b.steps(rid)).count("peer_note") == 1
        asked_again = later(asked, 2).model_copy(update={"note": "Any news? #seq:8#"})
        assert (await peer.send(asked_again, endpoint)).ok
        assert (await b.steps(rid)).count("peer_note") == 2


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(MIGRATIONS, url), revision)


async def note_every_message_twice(url: str, request_id: str) -> None:
    """What two copies arriving at once could leave before the upgrade: each message kept twice in the trail."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            kept = (await conn.execute(sa.select(request_steps).where(
                request_steps.c.request_id == request_id, request_steps.c.step == "peer_message_received"))).all()
            assert kept
            await conn.execute(sa.insert(request_steps), [
                {k: v for k, v in row._mapping.items() if k != "id"} for row in kept])
    finally:
        await engine.dispose()


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_messages_received_before_the_upgrade_are_known_when_resent(kind: str, tmp_path: Path) -> None:
    """Fingerprints kept only in the trail (schema 0011) are carried over by the upgrade, those kept twice by the
    race the upgrade closes included, and found by lookup."""
    async with database_on(kind, tmp_path, "bm_ill") as url, outside_peer() as peer:
        async with serving_broker(tmp_path, url) as (b, endpoint):
            request, rid = await borrow_from_cn_pl(b, peer, endpoint)
            renew = await renewed_once(b, peer, endpoint, request, rid)
            await settled(b, peer, rid)
        await asyncio.to_thread(downgrade, url, "0011")
        await note_every_message_twice(url, rid)

        async with serving_broker(tmp_path, url) as (b, _):  # upgrades to the head
            before = await settled(b, peer, rid)
            with statements(b) as seen:
                answered_alike(first_answer(peer, renew), await resend(b, renew))
            assert trail_read(seen) == []
            assert await settled(b, peer, rid) == before
