"""Applying an ISO 18626 message from a peer: a new request (the peer borrows), the peer borrower's actions, or
the peer lender's answers. Each becomes the same action a member library's staff would take, so the transition
table decides what is allowed; a refusal comes back as ISO `errorData`, never as a bare HTTP error.

Every message accepted is kept by its fingerprint, so that the same message resent, at any later time, is
confirmed as it was without being applied again (`resends.py`); its request's trail notes it too. Read
tolerantly: an empty status is read from the reason for the message, and Loaned or CopyCompleted without
WillSupply first is taken as both.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.codes import CONDITIONS, REASONS_UNFILLED
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.tiers import Member
from bibliomesh_ill.domain.transitions import ASKED
from bibliomesh_ill.iso18626 import (
    Action,
    ErrorData,
    ErrorType,
    Message,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    Status,
    SupplyingAgencyMessage,
)
from bibliomesh_ill.service_layer.actions import ActionInput, perform
from bibliomesh_ill.service_layer.peers.fingerprints import fingerprint
from bibliomesh_ill.service_layer.peers.identity import check_credentials, peer_principal, unrecognised
from bibliomesh_ill.service_layer.peers.outbound import status_response
from bibliomesh_ill.service_layer.peers.request_in import request_input
from bibliomesh_ill.service_layer.peers.resends import first_sighting, is_resend
from bibliomesh_ill.service_layer.peers.sender import queue
from bibliomesh_ill.service_layer.peers.trail import borrower_trail, note_addressed, note_received
from bibliomesh_ill.service_layer.submit import submit_request
from bibliomesh_ill.settings import IllSettings
from meshkit.problems import Conflict, NotFound, Problem
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_BORROWER_ACTIONS = {Action.RECEIVED: "receive", Action.SHIPPED_RETURN: "return_item", Action.CANCEL: "cancel",
                     Action.RENEW: "request_renewal"}
_LENDER_STATUSES = {Status.EXPECT_TO_SUPPLY: "expect_to_supply", Status.WILL_SUPPLY: "will_supply",
                    Status.RETRY_POSSIBLE: "conditional", Status.LOANED: "ship", Status.COPY_COMPLETED: "deliver_copy",
                    Status.UNFILLED: "cannot_supply", Status.OVERDUE: "mark_overdue", Status.RECALLED: "recall",
                    Status.LOAN_COMPLETED: "check_in", Status.COMPLETED_WITHOUT_RETURN: "check_in",
                    Status.CANCELLED: "accept_cancel"}
_SUPPLIES = frozenset({"ship", "deliver_copy"})


def sender_of(message: Message) -> str:
    header = message.header
    agency = header.supplying_agency_id if isinstance(message, SupplyingAgencyMessage) else header.requesting_agency_id
    return agency.agency_id_value if agency is not None else ""


async def receive(uow: UnitOfWork, message: Message, settings: IllSettings, basic_secret: str | None,
                  now: datetime | None = None) -> ErrorData | None:
    """Apply one message; None when it was accepted (the caller commits), else the ISO error to confirm with."""
    now = now or datetime.now(UTC)
    agency = sender_of(message)
    auth = message.header.requesting_agency_authentication
    secret = (auth.security_code if auth else None) or basic_secret
    element = "supplyingAgencyId" if isinstance(message, SupplyingAgencyMessage) else "requestingAgencyId"
    member = await MemberRepository(uow.session).get(agency)
    refusal = check_credentials(member, agency, element, secret)
    if refusal is not None:
        return refusal
    assert member is not None  # its credentials were checked
    seen = fingerprint(message)
    request = await _request_of(uow, message, agency)
    # Kept before it is applied, so that a copy arriving meanwhile waits and is then told it is a resend; a refused
    # message is rolled back, its fingerprint with it.
    if request is not None and not await first_sighting(uow, request.id, seen, now):
        return None  # a resend of a message already applied: confirmed as it was, and not applied again
    error = await _apply(uow, message, member, request, settings, now)
    if error is None:
        applied_to = await _request_of(uow, message, agency)
        if applied_to is not None:
            if request is None:  # a new request: a copy of it is refused by its peer request id instead
                await first_sighting(uow, applied_to.id, seen, now)
            party = Party.LENDER if isinstance(message, SupplyingAgencyMessage) else Party.BORROWER
            await note_received(uow, applied_to, agency, seen, party, now)
    return error


async def _request_of(uow: UnitOfWork, message: Message, agency: str) -> IllRequest | None:
    """The request `message` is about: a borrower names it by its own id, a lender by the broker's."""
    request_id = message.header.requesting_agency_request_id
    if isinstance(message, SupplyingAgencyMessage):
        return await RequestRepository(uow.session).get(request_id)
    return await RequestRepository(uow.session).by_peer_id(agency, request_id)


async def _apply(uow: UnitOfWork, message: Message, member: Member, request: IllRequest | None,
                 settings: IllSettings, now: datetime) -> ErrorData | None:
    agency = member.code
    if isinstance(message, Request):
        if request is not None:
            return None  # a retry of a request we already hold (its request id is its key): confirm it again
        try:
            return await _new_request(uow, message, agency, settings, now)
        except Problem as exc:
            return ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE, error_value=exc.detail)
    if isinstance(message, RequestingAgencyMessage):
        return await _borrower_message(uow, message, member, request, settings, now)
    return await _lender_message(uow, message, agency, request, now)


async def _new_request(uow: UnitOfWork, message: Request, agency: str, settings: IllSettings,
                       now: datetime) -> ErrorData | None:
    supplier = message.header.supplying_agency_id
    only = None
    if supplier is not None and supplier.agency_id_value != settings.broker_agency_id:
        target = await MemberRepository(uow.session).get(supplier.agency_id_value)
        if target is None or target.external:
            return unrecognised("supplyingAgencyId", f"{supplier.agency_id_value} is not a library of this platform")
        only = target.code
    given = request_input(message, agency, only)
    try:
        request = await submit_request(uow, peer_principal(agency), given, settings, now)
    except NotFound:
        if given.cluster_id is None:
            raise
        given.cluster_id = None  # supplierUniqueRecordId was not one of our clusters: go by the citation
        request = await submit_request(uow, peer_principal(agency), given, settings, now)
    await note_addressed(uow, request, agency, only or settings.broker_agency_id, now)
    return None


async def _borrower_message(uow: UnitOfWork, message: RequestingAgencyMessage, peer: Member,
                            request: IllRequest | None, settings: IllSettings, now: datetime) -> ErrorData | None:
    agency = peer.code
    if request is None:
        return unrecognised("requestingAgencyRequestId", f"no request {message.header.requesting_agency_request_id}"
                                                         f" from {agency}")
    if message.action in (Action.NOTIFICATION, Action.STATUS_REQUEST):
        await _note(uow, request.id, agency, f"{message.action.value}: {message.note or ''}".strip(), now)
        if message.action is Action.STATUS_REQUEST:
            answer = status_response(request, peer, settings.broker_agency_id, settings.agency_id_type, now,
                                     await borrower_trail(uow, request.id))
            await queue(uow, request.id, "status_requested", [answer], now)
        return None
    action = _BORROWER_ACTIONS.get(message.action)
    if action is None:
        return ErrorData(error_type=ErrorType.UNSUPPORTED_ACTION_TYPE,
                         error_value=f"action: {message.action.value} is not supported by this broker")
    return await _perform(uow, agency, request, action, ActionInput(note=message.note, origin="iso18626"), now)


async def _lender_message(uow: UnitOfWork, message: SupplyingAgencyMessage, agency: str, request: IllRequest | None,
                          now: datetime) -> ErrorData | None:
    request_id = message.header.requesting_agency_request_id
    not_asked = unrecognised("requestingAgencyRequestId", f"{agency} is not asked for any request {request_id}")
    if request is None:
        return not_asked
    action, given = _lender_action(message)
    if request.lender != agency:
        resent = action and await is_resend(uow, request, agency, action, current_party=False)
        return None if resent else not_asked
    if action is None:
        info, status = message.message_info, message.status_info
        await _note(uow, request.id, agency, info.note or f"status {status.status or '(empty)'}", now)
        return None
    if not action:
        return unrecognised("status", f"{message.status_info.status} cannot be applied to this request")
    if action in _SUPPLIES and request.requester_state in ASKED:
        # ISO 18626 lets a supplier send Loaned (or CopyCompleted) without WillSupply first, as ReShare does
        refused = await _perform(uow, agency, request, "will_supply", ActionInput(origin="iso18626"), now)
        if refused is not None:
            return refused
    return await _perform(uow, agency, request, action, given, now)


def _lender_action(message: SupplyingAgencyMessage) -> tuple[str | None, ActionInput]:
    """The action a lender's message means: None for one that only informs, "" for a status that means none."""
    info, status = message.message_info, message.status_info
    reason = info.reason_for_message
    given = ActionInput(note=info.note, origin="iso18626")
    if reason == ReasonForMessage.CANCEL_RESPONSE:
        return ("accept_cancel" if info.answer_yes_no is not False else "refuse_cancel"), given
    if reason == ReasonForMessage.RENEW_RESPONSE:
        given.approve = info.answer_yes_no is not False
        given.due_date = status.due_date.date() if status.due_date else None
        return "answer_renewal", given
    if status.status is None or status.status == Status.REQUEST_RECEIVED or reason == ReasonForMessage.NOTIFICATION:
        return None, given
    action = _LENDER_STATUSES.get(status.status, "")
    if action:
        _details(action, message, given)
    return action, given


def _details(action: str, message: SupplyingAgencyMessage, given: ActionInput) -> None:
    info, status = message.message_info, message.status_info
    if action == "cannot_supply":
        code = info.reason_unfilled.value if info.reason_unfilled else ""
        given.reason = code if code in REASONS_UNFILLED else "NotAvailableForILL"
        given.note = given.note or (f"reasonUnfilled {code}" if code else None)
    elif action == "conditional":
        code = info.reason_retry.value if info.reason_retry else ""
        conditions: dict[str, Any] = {"code": code if code in CONDITIONS else "LoanCondition", "note": info.note}
        if info.offered_costs:
            cost = info.offered_costs[0]
            conditions["cost"] = {"amount": str(cost.monetary_value), "currency": cost.currency_code.value}
        given.conditions = conditions
    elif action in ("ship", "recall") and status.due_date is not None:
        given.due_date = status.due_date.date()
    elif action == "deliver_copy":
        delivery = message.delivery_info
        url = delivery.url if delivery and delivery.url else next(iter(delivery.item_id), None) if delivery else None
        given.delivery = {"url": url or "(delivered by the supplier outside the platform)"}


async def _perform(uow: UnitOfWork, agency: str, request: IllRequest, action: str, given: ActionInput,
                   now: datetime) -> ErrorData | None:
    try:
        await perform(uow, peer_principal(agency), request.id, action, given, now)
    except Conflict as exc:  # the state does not allow it now, unless the peer is resending what it already did
        current = await RequestRepository(uow.session).get(request.id)
        if current is not None and await is_resend(uow, current, agency, action, current_party=True):
            return None
        return ErrorData(error_type=ErrorType.UNSUPPORTED_ACTION_TYPE, error_value=exc.detail)
    except Problem as exc:
        return ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE, error_value=exc.detail)
    return None


async def _note(uow: UnitOfWork, request_id: str, agency: str, note: str, now: datetime) -> None:
    """A message that changes nothing is still kept in the audit trail."""
    request = await RequestRepository(uow.session).get(request_id)
    assert request is not None
    await RequestRepository(uow.session).add_step({
        "request_id": request_id, "step": "peer_note", "action": None, "actor": f"iso18626:{agency}",
        "actor_institution": agency, "party": Party.LENDER.value if request.lender == agency else
        Party.BORROWER.value, "lender": request.lender, "requester_state": request.requester_state.value,
        "supplier_state": request.supplier_state.value if request.supplier_state else None, "reason": None,
        "note": note[:2000], "details": None, "occurred_at": now})
