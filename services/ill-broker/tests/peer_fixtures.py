"""An ISO 18626 peer outside the platform, as the directory describes it, the broker's queue of messages to it,
and the peer borrowing from a platform library over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from broker_fixtures import REGION, Broker, broker, item, region
from lxml import etree

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_contracts.events.directory.institution import Iso18626Peer as PeerConfig
from bibliomesh_ill.adapters.tables import peer_messages, requests
from bibliomesh_ill.iso18626 import (
    Action,
    AgencyId,
    Message,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
    parse,
)
from bibliomesh_ill.iso18626.xsd import schema
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer, now
from tests.support.serving import serving

SECRET = "peer-shared-secret-0123456789"
PEER = "ZZ-PEER"
FAST = {"peer_poll_seconds": 0.05, "peer_first_retry_seconds": 0.05, "peer_attempts": 2}
LENDER = AgencyId(agency_id_type="ISIL", agency_id_value="CN-PL")
ISBN = "9787020002207"


def peer_snapshot(peer: Iso18626Peer, version: int = 1) -> InstitutionSnapshot:
    return InstitutionSnapshot(code=PEER, name_en="A ReShare library", kind="external-peer", regions=REGION,
                               version=version, iso18626=PeerConfig(endpoint_url=peer.url, schema_version="1.2",
                                                                    credential_hash=PasswordHasher().hash(SECRET)))


async def queued(b: Broker, request_id: str) -> list[dict[str, Any]]:
    """The request's messages to peers as stored, oldest first."""
    async with b.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.select(peer_messages).where(peer_messages.c.request_id == request_id)
                                  .order_by(peer_messages.c.id))
        return [dict(r._mapping) for r in rows]


@asynccontextmanager
async def outside_peer() -> AsyncIterator[Iso18626Peer]:
    async with iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        yield peer


@asynccontextmanager
async def serving_broker(tmp_path: Path, database_url: str | None = None) -> AsyncIterator[tuple[Broker, str]]:
    """A broker and the URL of its ISO 18626 endpoint."""
    async with broker(tmp_path, database_url, **FAST) as b, serving(b.app, "/ill/iso18626") as endpoint:
        yield b, endpoint


async def borrow_from_cn_pl(b: Broker, peer: Iso18626Peer, endpoint: str) -> tuple[Request, str]:
    """The outside peer asks CN-PL for an item; returns its request and the broker's id for it."""
    await b.add_institutions([*region(), peer_snapshot(peer)])
    await b.add_holdings([item("CN-PL", "p1", 12, isbns=[ISBN])])
    request, confirmation = await peer.send_request(endpoint, LENDER, isbn=ISBN)
    assert confirmation.ok, confirmation
    async with b.runtime.engine.connect() as conn:
        rid = await conn.scalar(sa.select(requests.c.id).where(
            requests.c.peer_request_id == request.header.requesting_agency_request_id))
    return request, str(rid)


@asynccontextmanager
async def borrowing(tmp_path: Path, database_url: str | None = None
                    ) -> AsyncIterator[tuple[Broker, Iso18626Peer, str, Request, str]]:
    """The outside peer has asked CN-PL for an item; yields its request and the broker's id for it."""
    async with serving_broker(tmp_path, database_url) as (b, endpoint), outside_peer() as peer:
        request, rid = await borrow_from_cn_pl(b, peer, endpoint)
        yield b, peer, endpoint, request, rid


def action(peer: Iso18626Peer, request: Request, what: Action) -> RequestingAgencyMessage:
    """The peer's `what` about `request`, stamped now."""
    header = request.header.model_copy(update={"timestamp": now(), "requesting_agency_authentication":
                                               peer.credentials()})
    return RequestingAgencyMessage(version=peer.version, header=header, action=what)


def later(message: Message, seconds: int = 1) -> Message:
    """A new message saying what `message` says: its header timestamp (kept to the second) `seconds` later."""
    header = message.header.model_copy(update={"timestamp": message.header.timestamp + timedelta(seconds=seconds)})
    return message.model_copy(update={"header": header})


def answering(reason: ReasonForMessage):  # type: ignore[no-untyped-def]
    return lambda m: isinstance(m, SupplyingAgencyMessage) and m.message_info.reason_for_message is reason


def schema_valid(body: bytes) -> bool:
    """Whether `body` is valid against the official schema of the edition it names."""
    return bool(schema(parse(body).version).validate(etree.fromstring(body)))
