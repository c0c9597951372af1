"""Sending queued ISO 18626 messages to peers: in order per request, retried with growing pauses, logged.

Each message is claimed before sending (so two replicas never send it twice at once), sent with the peer
client's own short retries, then marked sent (with an audit step on its request) or given a later attempt.
After `GIVE_UP_AFTER` tries, or at once when the peer answers ERROR, it is marked failed and the request's
later messages to that peer wait (`PeerOutbox.due`); the failure is logged, kept on the message
(`peer_messages.last_error`) and shown in the request's audit trail as a `peer_message_failed` step. Staff
release it (`staff.py`): redelivered, it goes first; dropped, the ones behind it go.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bibliomesh_ill.adapters.peer_outbox import PeerOutbox
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.iso18626 import Version
from bibliomesh_ill.iso18626.models import ANY_MESSAGE, Message
from bibliomesh_ill.iso18626.peer_client import PeerClient, PeerError, PeerRejected, RetryPolicy
from bibliomesh_ill.service_layer.peers.errors import public_error
from bibliomesh_ill.service_layer.steps import note_step
from meshkit.runtime import ServiceRuntime

log = logging.getLogger(__name__)
GIVE_UP_AFTER = 12
CLAIM = timedelta(minutes=2)
BATCH = 50


def _pause(attempts: int, first: float) -> timedelta:
    return timedelta(seconds=min(3600.0, max(first, 0.05) * 4 ** (attempts - 1)))


async def deliver_due(runtime: ServiceRuntime, client: PeerClient, now: datetime | None = None) -> int:
    """Send every message whose turn has come; returns how many were sent."""
    now = now or datetime.now(UTC)
    async with runtime.unit_of_work() as uow:
        due = await PeerOutbox(uow.session).due(now, BATCH)
    sent = 0
    for row in due:
        async with runtime.unit_of_work() as uow:
            claimed = await PeerOutbox(uow.session).claim(row["id"], now, CLAIM)
            await uow.commit()
        if claimed:
            sent += await _send(runtime, client, row)
    return sent


async def _send(runtime: ServiceRuntime, client: PeerClient, row: dict[str, Any]) -> int:
    message: Message = ANY_MESSAGE.validate_json(row["message"])  # type: ignore[assignment]
    now = datetime.now(UTC)
    try:
        confirmation = await client.send(message, row["url"], Version(row["version"]))
    except PeerError as exc:
        attempts = row["attempts"] + 1
        failed = attempts >= GIVE_UP_AFTER or isinstance(exc, PeerRejected)  # an ERROR answer will not change
        log.warning("ISO 18626 message not delivered", extra={
            "request_id": row["request_id"], "peer": row["peer"], "attempts": attempts,
            "error": public_error(str(exc), row["url"]), "gave_up": failed})  # no secret of the URL in the log
        first = runtime.settings.peer_first_retry_seconds  # type: ignore[attr-defined]
        async with runtime.unit_of_work() as uow:
            await PeerOutbox(uow.session).finish(row["id"], {
                "attempts": attempts, "last_error": str(exc)[:2000], "status": "failed" if failed else "pending",
                "next_attempt_at": now + _pause(attempts, first)})
            if failed:
                # the trail is shown to the patron too: the peer's URL may carry a secret
                reason = public_error(str(exc), row["url"])
                await _audit(uow.session, row, "peer_message_failed", now, reason=reason,
                             note=f"ISO 18626 {row['kind']} to {row['peer']} not delivered; later messages about "
                                  "this request to that peer wait until it is redelivered or dropped",
                             details={"peer": row["peer"], "kind": row["kind"], "attempts": attempts})
            await uow.commit()
        return 0
    async with runtime.unit_of_work() as uow:
        await PeerOutbox(uow.session).finish(row["id"], {"status": "sent", "sent_at": now,
                                                        "attempts": row["attempts"] + 1, "last_error": None})
        await _audit(uow.session, row, "peer_message_sent", now, note=f"ISO 18626 {row['kind']} to {row['peer']}",
                     details={"peer": row["peer"], "kind": row["kind"], "confirmation": confirmation.kind})
        await uow.commit()
    return 1


async def _audit(session: Any, row: dict[str, Any], step: str, now: datetime, *, note: str,
                 details: dict[str, Any], reason: str | None = None) -> None:
    request = await RequestRepository(session).get(row["request_id"])
    if request is None:
        return
    await note_step(session, request, step, actor="system", party=Party.SYSTEM, now=now, action=row["step"],
                    reason=reason, note=note, details=details)


async def ill_peer_delivery(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    retry = RetryPolicy(attempts=settings.peer_attempts,  # type: ignore[attr-defined]
                        first_delay_seconds=settings.peer_first_retry_seconds,  # type: ignore[attr-defined]
                        timeout_seconds=settings.peer_timeout_seconds)  # type: ignore[attr-defined]
    async with PeerClient(retry=retry) as client:
        while True:
            sent = await deliver_due(runtime, client)
            if not sent:
                await asyncio.sleep(settings.peer_poll_seconds)  # type: ignore[attr-defined]
