"""Telling a peer's resent message from a new one.

ISO 18626 messages carry no message id, and peers resend a message until they see its confirmation, at any later
time. A resend repeats the message: its header (agencies, `timestamp`) and what it says. So every message the
broker accepts is kept by its fingerprint (`fingerprints.py`), indexed per request, and a message matching one
kept is confirmed as the first was, OK, without being applied again. A new `timestamp` makes a new message,
even one saying the same (a second Renew is a second renewal request). ReShare rebuilds the header, with a new
timestamp, when it resends, but ends the note with the message's own sequence number (`#seq:12#`), which it keeps.

A message with a new fingerprint that the request cannot take may still be a resend from a peer that stamps its
resends anew: it is one when the request already shows what it leads to, or when it is the last action the peer
took on the request (a Received after Received, an Unfilled after the rota moved on). A different message the
request cannot take is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bibliomesh_ill.adapters.received_messages import ReceivedMessageRepository
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.service_layer.peers.fingerprints import message_keys
from bibliomesh_ill.service_layer.peers.identity import peer_principal
from meshkit.unit_of_work import UnitOfWork

_SUPPLIER_AFTER = {"will_supply": {S.AWAITING_SHIP}, "ship": {S.SHIPPED}, "expect_to_supply": {S.EXPECT_TO_SUPPLY},
                   "check_in": {S.COMPLETED}, "mark_overdue": {S.OVERDUE}, "recall": {S.RECALLED},
                   "accept_cancel": {S.CANCELLED}, "deliver_copy": {S.COPY_DELIVERED}}
_REQUESTER_AFTER = {"receive": {R.RECEIVED}, "return_item": {R.RETURNED}, "cancel": {R.CANCELLED, R.CANCEL_PENDING}}


async def first_sighting(uow: UnitOfWork, request_id: str, seen: dict[str, Any], now: datetime) -> bool:
    """Keep fingerprint `seen` as received for the request; False if a message with it is kept already (a resend).
    Of two copies arriving at once, one is kept and the other waits for its transaction to end: told it is a
    resend if that one committed, kept if it rolled back."""
    by_timestamp, by_sequence = message_keys(seen)
    return await ReceivedMessageRepository(uow.session).keep(request_id, by_timestamp, by_sequence, now)


def already_shows(action: str, request: IllRequest) -> bool:
    """The request is already where `action` takes it (seen from real peers resending a status)."""
    return request.supplier_state in _SUPPLIER_AFTER.get(action, ()) or \
        request.requester_state in _REQUESTER_AFTER.get(action, ())


async def last_action_of(uow: UnitOfWork, request_id: str, agency: str) -> str | None:
    """The last action the peer's messages took on the request (None if they took none)."""
    return await RequestRepository(uow.session).last_action_by(request_id, peer_principal(agency).subject)


async def is_resend(uow: UnitOfWork, request: IllRequest, agency: str, action: str, *, current_party: bool) -> bool:
    """Whether `action` from `agency`, which the request refused, repeats what it already did. A lender the rota
    has moved on from (`current_party` False) can only repeat its own last action."""
    if current_party and already_shows(action, request):
        return True
    return await last_action_of(uow, request.id, agency) == action
