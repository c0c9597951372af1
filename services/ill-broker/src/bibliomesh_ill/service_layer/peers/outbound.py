"""What the broker tells peers outside the platform when a request moves: the ISO 18626 message each step
means for an external lender (the broker speaks for the borrowing library) or an external borrower (the broker
speaks for the platform's lender).

Conventions shared with brokers and ReShare: ExpectToSupply to the borrower when a supplier is chosen; a
supplier's Unfilled passed to the borrower as a Notification while the rota goes on, and as Unfilled only when
it ends. A step caused by the peer's own message is not echoed back to it, except the answer it waits for (a
CancelResponse to its Cancel); a StatusRequest is answered with the request's current status. Every reply to an
outside borrower comes from the agency its request named (a platform library, or the broker routing across the
platform), whichever lender is asked, and the final Unfilled carries the lenders' own reason when they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from bibliomesh_contracts.events.ill import RequestStepV1
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.domain.tiers import Member
from bibliomesh_ill.iso18626 import (
    Action,
    AgencyId,
    BibliographicInfo,
    BibliographicItemId,
    Costs,
    DeliveryInfo,
    Header,
    Message,
    MessageInfo,
    PatronInfo,
    PublicationInfo,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    SchemeValue,
    ServiceInfo,
    ServiceType,
    Status,
    StatusInfo,
    SupplyingAgencyMessage,
    Version,
)

_TO_LENDER = {"cancelled": Action.CANCEL, "cancel_requested": Action.CANCEL, "received": Action.RECEIVED,
              "returned": Action.SHIPPED_RETURN, "renewal_requested": Action.RENEW,
              "conditions_rejected": Action.CANCEL, "conditions_accepted": Action.NOTIFICATION}
_TO_BORROWER: dict[str, tuple[Status, ReasonForMessage]] = {
    "routed": (Status.EXPECT_TO_SUPPLY, ReasonForMessage.STATUS_CHANGE),
    "will_supply": (Status.WILL_SUPPLY, ReasonForMessage.STATUS_CHANGE),
    "conditional": (Status.RETRY_POSSIBLE, ReasonForMessage.STATUS_CHANGE),
    "conditions_accepted": (Status.WILL_SUPPLY, ReasonForMessage.STATUS_CHANGE),
    "declined": (Status.EXPECT_TO_SUPPLY, ReasonForMessage.NOTIFICATION),
    "unfilled": (Status.UNFILLED, ReasonForMessage.STATUS_CHANGE),
    "shipped": (Status.LOANED, ReasonForMessage.STATUS_CHANGE),
    "copy_delivered": (Status.COPY_COMPLETED, ReasonForMessage.STATUS_CHANGE),
    "completed": (Status.LOAN_COMPLETED, ReasonForMessage.STATUS_CHANGE),
    "overdue": (Status.OVERDUE, ReasonForMessage.STATUS_CHANGE),
    "recalled": (Status.RECALLED, ReasonForMessage.STATUS_CHANGE),
    "cancelled": (Status.CANCELLED, ReasonForMessage.CANCEL_RESPONSE),
    "cancel_refused": (Status.WILL_SUPPLY, ReasonForMessage.CANCEL_RESPONSE),
    "renewal_answered": (Status.LOANED, ReasonForMessage.RENEW_RESPONSE),
}
# Steps the peer's own message caused that it still waits an answer to: its Cancel, applied at once because the
# lender had not committed yet, is answered with a CancelResponse as if the lender had accepted it.
_ANSWERS_TO_OWN_MESSAGE = frozenset({"cancelled"})
_SUPPLIER_STATUS = {
    S.NEW: Status.EXPECT_TO_SUPPLY, S.EXPECT_TO_SUPPLY: Status.EXPECT_TO_SUPPLY, S.CONDITIONAL: Status.RETRY_POSSIBLE,
    S.AWAITING_SHIP: Status.WILL_SUPPLY, S.CANCEL_REQUESTED: Status.WILL_SUPPLY, S.SHIPPED: Status.LOANED,
    S.OVERDUE: Status.OVERDUE, S.RECALLED: Status.RECALLED, S.RETURN_SHIPPED: Status.LOANED,
    S.COMPLETED: Status.LOAN_COMPLETED, S.COPY_DELIVERED: Status.COPY_COMPLETED,
}
_ENDED = {R.UNFILLED: Status.UNFILLED, R.CANCELLED: Status.CANCELLED}
_SERVICE = {"loan": ServiceType.LOAN, "copy": ServiceType.COPY, "copy-or-loan": ServiceType.COPY_OR_LOAN}


@dataclass(frozen=True)
class Outgoing:
    message: Message
    peer: str
    url: str
    version: Version


def _agency(code: str, id_type: str) -> AgencyId:
    return AgencyId(agency_id_type=SchemeValue(value=id_type), agency_id_value=code)


def _version(member: Member) -> Version:
    return Version.V2021 if (member.iso18626 or {}).get("schema_version") == "2021" else Version.V1_2


def _moment(day: object) -> datetime | None:
    return datetime.combine(day, time(23, 59), UTC) if day is not None else None  # type: ignore[arg-type]


@dataclass(frozen=True)
class BorrowerTrail:
    """What the request's audit trail adds to a step for an outside borrower (read by `trail.py`)."""

    addressed: str | None = None
    """The agency the peer's request named (a platform library or the broker): every reply comes from it."""
    rota_went_on: bool = True
    """After a lender declined, another was asked (else the Unfilled that ends the request says it all)."""
    reason_unfilled: str = "NotAvailableForILL"
    """Why the request ended unfilled: the lenders' own reason when they all gave the same one."""


def messages_for(step: RequestStepV1, request: IllRequest, lender: Member | None, borrower: Member | None,
                 broker_agency: str, id_type: str, now: datetime, approved: bool | None = None,
                 trail: BorrowerTrail = BorrowerTrail()) -> list[Outgoing]:
    """The ISO 18626 messages one step means for the external parties of the request (usually none)."""
    out: list[Outgoing] = []
    caused_by = step.actor.removeprefix("iso18626:") if step.actor.startswith("iso18626:") else None
    if lender is not None and lender.external and caused_by != lender.code:
        message = _to_lender(step, request, lender, id_type, now)
        if message is not None:
            out.append(Outgoing(message, lender.code, lender.iso18626["endpoint_url"], _version(lender)))  # type: ignore[index]
    if borrower is not None and borrower.external and request.origin == "iso18626" and \
            (caused_by != borrower.code or step.step in _ANSWERS_TO_OWN_MESSAGE):
        message = _to_borrower(step, request, borrower, broker_agency, id_type, now, approved, trail)
        if message is not None:
            out.append(Outgoing(message, borrower.code, borrower.iso18626["endpoint_url"], _version(borrower)))  # type: ignore[index]
    return out


def _header(request: IllRequest, supplier: str, requester: str, id_type: str, now: datetime,
            requester_id: str) -> Header:
    return Header(supplying_agency_id=_agency(supplier, id_type), requesting_agency_id=_agency(requester, id_type),
                  timestamp=now, requesting_agency_request_id=requester_id, supplying_agency_request_id=request.id,
                  multiple_item_request_id="")


def _to_lender(step: RequestStepV1, request: IllRequest, lender: Member, id_type: str,
               now: datetime) -> Message | None:
    header = _header(request, lender.code, request.borrower, id_type, now, request.id)
    header = header.model_copy(update={"supplying_agency_request_id": None})
    if step.step == "routed":
        return _request_message(request, header, _version(lender))
    action = _TO_LENDER.get(step.step)
    if step.step == "declined" and step.actor != "system" and not step.actor.startswith("iso18626:"):
        action = Action.CANCEL  # the borrower re-routed away from this lender
    elif step.step == "declined" and step.reason == "NoAnswer":
        action = Action.CANCEL
    if action is None:
        return None
    note = step.note if action is not Action.NOTIFICATION else "conditions accepted"
    return RequestingAgencyMessage(version=_version(lender), header=header, action=action, note=note)


def _request_message(request: IllRequest, header: Header, version: Version) -> Request:
    citation = request.citation
    ids = [BibliographicItemId(bibliographic_item_identifier_code=SchemeValue(value=code.upper()),
                               bibliographic_item_identifier=str(citation[code]))
           for code in ("isbn", "issn") if citation.get(code)]
    bib = BibliographicInfo(title=citation.get("title") or request.title, author=citation.get("author"),
                            title_of_component=citation.get("article_title"), pages_requested=citation.get("pages"),
                            edition=citation.get("edition"), bibliographic_item_id=ids,
                            supplier_unique_record_id=f"cluster:{request.cluster_id}" if request.cluster_id else None)
    publication = PublicationInfo(publisher=citation.get("publisher"), publication_date=citation.get("year")) \
        if citation.get("publisher") or citation.get("year") else None
    service = ServiceInfo(service_type=_SERVICE[request.service_type],
                          service_level=SchemeValue(value="Rush" if request.service_level == "rush" else "Normal"),
                          need_before_date=_moment(request.needed_by), note=request.note)
    patron = PatronInfo(patron_id=request.patron_id) if request.patron_id else None
    return Request(version=version, header=header, bibliographic_info=bib, publication_info=publication,
                   service_info=service, patron_info=patron)


def _to_borrower(step: RequestStepV1, request: IllRequest, borrower: Member, broker_agency: str, id_type: str,
                 now: datetime, approved: bool | None, trail: BorrowerTrail) -> Message | None:
    mapped = _TO_BORROWER.get(step.step)
    if mapped is None or (step.step == "declined" and not trail.rota_went_on):
        return None
    status, reason = mapped
    answer = None
    if reason is ReasonForMessage.CANCEL_RESPONSE:
        answer = step.step == "cancelled"
    if reason is ReasonForMessage.RENEW_RESPONSE:
        answer = bool(approved)
    note = step.note
    if step.step == "declined":
        note = f"{step.lender} cannot supply ({step.reason or 'no reason given'}); trying the next library"
    return _supplying_message(request, borrower, trail.addressed or step.lender or broker_agency, status, reason,
                              id_type, now, answer=answer, note=note, reason_unfilled=trail.reason_unfilled)


def status_response(request: IllRequest, borrower: Member, broker_agency: str, id_type: str, now: datetime,
                    trail: BorrowerTrail) -> Outgoing:
    """The answer to an outside borrower's StatusRequest: where its request is now."""
    message = _supplying_message(request, borrower, trail.addressed or request.lender or broker_agency,
                                 current_status(request), ReasonForMessage.STATUS_REQUEST_RESPONSE, id_type, now,
                                 reason_unfilled=trail.reason_unfilled)
    return Outgoing(message, borrower.code, borrower.iso18626["endpoint_url"], _version(borrower))  # type: ignore[index]


def current_status(request: IllRequest) -> Status:
    """The ISO 18626 status of the request as its borrower sees it."""
    if request.requester_state in _ENDED:
        return _ENDED[request.requester_state]
    return _SUPPLIER_STATUS.get(request.supplier_state, Status.REQUEST_RECEIVED)  # type: ignore[arg-type]


def _supplying_message(request: IllRequest, borrower: Member, supplier: str, status: Status,
                       reason: ReasonForMessage, id_type: str, now: datetime, *, answer: bool | None = None,
                       note: str | None = None, reason_unfilled: str) -> SupplyingAgencyMessage:
    header = _header(request, supplier, borrower.code, id_type, now, request.peer_request_id or request.id)
    info = MessageInfo(reason_for_message=reason, answer_yes_no=answer, note=note,
                       reason_unfilled=SchemeValue(value=reason_unfilled) if status is Status.UNFILLED else None,
                       reason_retry=SchemeValue(value=request.conditions["code"])
                       if status is Status.RETRY_POSSIBLE and request.conditions else None,
                       offered_costs=_costs(request) if status is Status.RETRY_POSSIBLE else [])
    due = _moment(request.due_date) if status in (Status.LOANED, Status.OVERDUE, Status.RECALLED) else None
    delivery = None
    if status in (Status.LOANED, Status.COPY_COMPLETED):
        url = (request.delivery or {}).get("url") if status is Status.COPY_COMPLETED else None
        delivery = DeliveryInfo(date_sent=now, item_id=[url] if url else [])
    return SupplyingAgencyMessage(version=_version(borrower), header=header, message_info=info,
                                  status_info=StatusInfo(status=status, last_change=now, due_date=due),
                                  delivery_info=delivery)


def _costs(request: IllRequest) -> list[Costs]:
    cost = (request.conditions or {}).get("cost")
    if not cost:
        return []
    return [Costs(currency_code=SchemeValue(value=cost["currency"]), monetary_value=Decimal(str(cost["amount"])))]
