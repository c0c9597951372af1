"""An ISO 18626 peer outside the platform, as the directory describes it, and the broker's queue of messages to it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from broker_fixtures import REGION, Broker

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_contracts.events.directory.institution import Iso18626Peer as PeerConfig
from bibliomesh_ill.adapters.tables import peer_messages
from tests.support.iso18626_peer import Iso18626Peer

SECRET = "peer-shared-secret-0123456789"
PEER = "ZZ-PEER"
FAST = {"peer_poll_seconds": 0.05, "peer_first_retry_seconds": 0.05, "peer_attempts": 2}


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
