"""Staff and a request's messages to peers: seeing them, sending a failed one again, or giving it up.

A failed message holds back the request's later messages to its peer (`PeerOutbox.due`). Redelivered, it is
pending again with its tries reset and due now, so it goes before the ones behind it; dropped, it is never sent and
the ones behind it go. Both are steps in the request's audit trail.

Each message speaks for one institution: the borrowing library in what is told to an outside lender (the request,
requesting-agency messages), the lender in what is told to an outside borrower (supplying-agency messages; the
broker's own agency when no lender was asked yet). Staff with `ill:manage` of that institution, and platform admins,
see and act on it. A caller who may act for neither the request's borrower, its lender nor any of its messages'
senders is refused the whole list, as for the request itself.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bibliomesh_ill.adapters.peer_outbox import QUEUED, PeerOutbox
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.iso18626.models import ANY_MESSAGE
from bibliomesh_ill.service_layer.peers.errors import public_error
from bibliomesh_ill.service_layer.peers.inbound import sender_of
from bibliomesh_ill.service_layer.steps import note_step
from meshkit.problems import Conflict, Forbidden, NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def speaks_for(row: dict[str, Any]) -> str:
    """The institution a queued message is sent on behalf of (its sender in the ISO 18626 header)."""
    return sender_of(ANY_MESSAGE.validate_json(row["message"]))  # type: ignore[arg-type]


def may_manage(caller: Principal, institution: str | None) -> bool:
    return institution is not None and caller.has_scope("ill:manage") and caller.may_act_for(institution)


async def peer_messages(uow: UnitOfWork, caller: Principal, request_id: str) -> list[dict[str, Any]]:
    """The request's messages to peers that the caller may manage, oldest first, as staff see them."""
    _, rows, mine = await _load(uow, caller, request_id)
    return [_view(row, rows) for row in mine]


async def redeliver(uow: UnitOfWork, caller: Principal, request_id: str, message_id: int,
                    now: datetime | None = None) -> dict[str, Any]:
    """Set a failed message back to pending, due now with its tries reset: the delivery worker sends it next."""
    now = now or datetime.now(UTC)
    return await _settle(uow, caller, request_id, message_id, now, "redeliver", {
        "status": "pending", "attempts": 0, "next_attempt_at": now, "claimed_until": None})


async def drop(uow: UnitOfWork, caller: Principal, request_id: str, message_id: int,
               now: datetime | None = None) -> dict[str, Any]:
    """Give a failed message up for good: it is never sent, and the request's later messages to its peer go."""
    return await _settle(uow, caller, request_id, message_id, now or datetime.now(UTC), "drop",
                         {"status": "dropped", "claimed_until": None})


async def _load(uow: UnitOfWork, caller: Principal,
                request_id: str) -> tuple[IllRequest, list[dict[str, Any]], list[dict[str, Any]]]:
    """The request, all its messages and those the caller may manage; 404 / 403 as for the request itself."""
    caller.require_scope("ill:manage")
    request = await RequestRepository(uow.session).get(request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    rows = await PeerOutbox(uow.session).for_request(request_id)
    mine = [row for row in rows if may_manage(caller, speaks_for(row))]
    if not mine and not (may_manage(caller, request.borrower) or may_manage(caller, request.lender)):
        raise Forbidden(f"{caller.institution} is neither the borrower nor the current lender of request "
                        f"{request_id}, and no message about it is sent on its behalf")
    return request, rows, mine


async def _settle(uow: UnitOfWork, caller: Principal, request_id: str, message_id: int, now: datetime,
                  action: str, values: dict[str, Any]) -> dict[str, Any]:
    request, rows, mine = await _load(uow, caller, request_id)
    row = next((r for r in rows if r["id"] == message_id), None)
    if row is None:
        raise NotFound(f"request {request_id} has no peer message {message_id}")
    sender = speaks_for(row)
    if row not in mine:
        raise Forbidden(f"peer message {message_id} is sent on behalf of {sender}; a token for "
                        f"{caller.institution} cannot act for it")
    verb = "redelivered" if action == "redeliver" else "dropped"
    outbox = PeerOutbox(uow.session)
    if row["status"] != "failed" or not await outbox.settle_failed(message_id, values):
        # failed when read, but settled by someone else before our update: name what it is now
        status = row["status"] if row["status"] != "failed" else await outbox.status(message_id)
        raise Conflict(f"peer message {message_id} is {status}: only a failed message can be {verb}",
                       message_status=status)
    # the trail is shown to the patron too: it names the peer, never its endpoint
    after = ("it is sent again before the later messages to that peer" if action == "redeliver" else
             "it will not be sent; the later messages to that peer go on")
    await note_step(uow.session, request, f"peer_message_{verb}", actor=caller,
                    party=Party.LENDER if row["kind"] == "supplyingAgencyMessage" else Party.BORROWER, now=now,
                    action=f"{action}_peer_message", note=f"ISO 18626 {row['kind']} to {row['peer']} {verb}: {after}",
                    details={"message_id": message_id, "peer": row["peer"], "kind": row["kind"],
                             "on_behalf_of": sender, "attempts": row["attempts"]})
    log.info("ISO 18626 message %s by staff", verb, extra={
        "request_id": request_id, "message_id": message_id, "peer": row["peer"], "institution": caller.institution,
        "actor": caller.subject})
    settled = {**row, **values}
    return _view(settled, [settled if r["id"] == message_id else r for r in rows])


def _view(row: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What staff see of a queued message: no body (it may carry credentials), no endpoint URL."""
    waiting = [r for r in rows if r["peer"] == row["peer"] and r["status"] in QUEUED]
    head = min(waiting, key=lambda r: r["id"]) if waiting else None  # the one the peer's queue waits on
    blocker = head["id"] if head is not None and head["status"] == "failed" else None
    return {
        "id": row["id"], "peer": row["peer"], "on_behalf_of": speaks_for(row), "step": row["step"],
        "kind": row["kind"], "status": row["status"], "attempts": row["attempts"],
        "last_error": public_error(row["last_error"], row["url"]), "created_at": row["created_at"],
        "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
        "sent_at": row["sent_at"],
        "holds_later": blocker == row["id"] and len(waiting) > 1,
        "held_by": blocker if blocker is not None and row["status"] == "pending" else None,
    }
