"""Telling a peer's resent message from a new one.

ISO 18626 messages carry no message id, and peers resend a message until they see its confirmation, at any later
time. A resend repeats the message: its header (agencies, `timestamp`) and what it says. So every message the
broker accepts is kept in the request's trail by its fingerprint (`trail.note_received`), and a message matching
one kept is confirmed as the first was, OK, without being applied again. A new `timestamp` makes a new message,
even one saying the same (a second Renew is a second renewal request). ReShare rebuilds the header, with a new
timestamp, when it resends, but ends the note with the message's own sequence number (`#seq:12#`), which it keeps.

A message with a new fingerprint that the request cannot take may still be a resend from a peer that stamps its
resends anew: it is one when the request already shows what it leads to, or when it is the last action the peer
took on the request (a Received after Received, an Unfilled after the rota moved on). A different message the
request cannot take is refused.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.iso18626 import AgencyId, Message, Request, RequestingAgencyMessage, SupplyingAgencyMessage
from bibliomesh_ill.service_layer.peers.identity import peer_principal
from bibliomesh_ill.service_layer.peers.trail import RECEIVED
from meshkit.unit_of_work import UnitOfWork

_SUPPLIER_AFTER = {"will_supply": {S.AWAITING_SHIP}, "ship": {S.SHIPPED}, "expect_to_supply": {S.EXPECT_TO_SUPPLY},
                   "check_in": {S.COMPLETED}, "mark_overdue": {S.OVERDUE}, "recall": {S.RECALLED},
                   "accept_cancel": {S.CANCELLED}, "deliver_copy": {S.COPY_DELIVERED}}
_REQUESTER_AFTER = {"receive": {R.RECEIVED}, "return_item": {R.RETURNED}, "cancel": {R.CANCELLED, R.CANCEL_PENDING}}
_RESHARE_SEQUENCE = re.compile(r"#seq:(\d+)#\s*$")
# What two sightings of one message always share; the timestamp, or ReShare's sequence number, tells it apart.
_SAME = ("kind", "what", "requesting_agency", "supplying_agency", "note")


def fingerprint(message: Message) -> dict[str, Any]:
    """What identifies `message` among the peer's messages: its kind and what it says (action, or reason, status
    and answer), its header's agencies and `timestamp` (kept to the second), a digest of its note, and ReShare's
    sequence number if the note ends with one."""
    header, note = message.header, _note(message)
    sequence = _RESHARE_SEQUENCE.search(note or "")
    return {"kind": message.kind, "what": _what(message), "timestamp": header.timestamp.isoformat(),
            "requesting_agency": _agency(header.requesting_agency_id),
            "supplying_agency": _agency(header.supplying_agency_id),
            "note": hashlib.sha256(note.encode()).hexdigest()[:16] if note else None,
            "sequence": int(sequence.group(1)) if sequence else None}


def same_message(kept: dict[str, Any], seen: dict[str, Any]) -> bool:
    """Whether fingerprint `seen` is of the message kept as `kept`."""
    if any(kept.get(name) != seen[name] for name in _SAME):
        return False
    return kept.get("timestamp") == seen["timestamp"] or \
        (seen["sequence"] is not None and kept.get("sequence") == seen["sequence"])


async def already_received(uow: UnitOfWork, request_id: str, seen: dict[str, Any]) -> bool:
    """Whether the request's trail keeps a message with fingerprint `seen`: one already applied."""
    steps = await RequestRepository(uow.session).steps(request_id, RECEIVED)
    return any(same_message(step["details"] or {}, seen) for step in steps)


def already_shows(action: str, request: IllRequest) -> bool:
    """The request is already where `action` takes it (seen from real peers resending a status)."""
    return request.supplier_state in _SUPPLIER_AFTER.get(action, ()) or \
        request.requester_state in _REQUESTER_AFTER.get(action, ())


async def last_action_of(uow: UnitOfWork, request_id: str, agency: str) -> str | None:
    """The last action the peer's messages took on the request (None if they took none)."""
    actor = peer_principal(agency).subject
    steps = await RequestRepository(uow.session).steps(request_id)
    return next((s["action"] for s in reversed(steps) if s["actor"] == actor and s["action"]), None)


async def is_resend(uow: UnitOfWork, request: IllRequest, agency: str, action: str, *, current_party: bool) -> bool:
    """Whether `action` from `agency`, which the request refused, repeats what it already did. A lender the rota
    has moved on from (`current_party` False) can only repeat its own last action."""
    if current_party and already_shows(action, request):
        return True
    return await last_action_of(uow, request.id, agency) == action


def _what(message: Message) -> str:
    if isinstance(message, RequestingAgencyMessage):
        return message.action.value
    if isinstance(message, SupplyingAgencyMessage):
        info, status = message.message_info, message.status_info.status
        answer = {True: "Y", False: "N", None: ""}[info.answer_yes_no]
        return "/".join((info.reason_for_message.value if info.reason_for_message else "",
                         status.value if status else "", answer))
    return ""


def _note(message: Message) -> str | None:
    if isinstance(message, RequestingAgencyMessage):
        return message.note
    if isinstance(message, SupplyingAgencyMessage):
        return message.message_info.note
    assert isinstance(message, Request)
    return message.service_info.note if message.service_info else None


def _agency(agency: AgencyId | None) -> str | None:
    return f"{agency.agency_id_type.value}:{agency.agency_id_value}" if agency else None
