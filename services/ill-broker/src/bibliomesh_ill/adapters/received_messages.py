"""The fingerprints of the messages peers sent that the broker accepted, by request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import peer_message_fingerprints
from meshkit.db import insert_new


class ReceivedMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, request_id: str, by_timestamp: str, by_sequence: str | None, received_at: datetime) -> bool:
        """Keep a message's keys unless the request has a message with either already; whether it was kept.

        One statement, so checking and keeping cannot be split by a copy arriving at once: the database makes the
        second insert wait until the first's transaction ends."""
        return bool(await insert_new(self.session, peer_message_fingerprints, [{
            "request_id": request_id, "by_timestamp": by_timestamp, "by_sequence": by_sequence,
            "received_at": received_at}]))
