"""ILL request events: every step of a request, on the borrowing and the lending side, as one payload shape.

Each step has its own event type (`ill.request.shipped`, ...) so consumers bind only to what they act on; the
payload is the same everywhere: the request as it stands after the step, and the step itself."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ServiceType = Literal["loan", "copy", "copy-or-loan"]


class RequestStepV1(BaseModel):
    """One step of an interlibrary-loan request and the request's state after it."""

    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(description="The broker's request id.")
    step: str = Field(description="What happened, e.g. `shipped`; equals the last part of the event type.")
    borrower: str = Field(description="Code of the borrowing (requesting) institution.")
    lender: str | None = Field(default=None, description="Code of the lender the step concerns, if any.")
    patron_id: str | None = Field(default=None, description="The borrowing institution's id for the patron.")
    service_type: ServiceType = Field(description="Loan, copy, or either.")
    service_level: Literal["normal", "rush"] = Field(default="normal", description="Urgency.")
    title: str = Field(description="Title of the requested item, for messages.")
    requester_state: str = Field(description="The borrowing side's state after the step.")
    supplier_state: str | None = Field(default=None, description="The current lender's state after the step.")
    tier: Literal["university", "region", "open"] | None = Field(
        default=None, description="How close the lender is to the borrower.")
    rota_position: int | None = Field(default=None, description="Position of the lender on the rota (1-based).")
    reason: str | None = Field(default=None, description="Why (an ISO 18626 reason code or a staff note).")
    note: str | None = Field(default=None, description="Free text from the party that acted.")
    due_date: date | None = Field(default=None, description="Loan due date, when known.")
    approved: bool | None = Field(default=None, description="renewal_answered: whether the renewal was granted.")
    actor: str = Field(description="Who acted: a user id, `system` (timers, routing) or an ISO 18626 agency.")
    occurred_at: datetime = Field(description="When the step happened.")


def _step(name: str, doc: str) -> type[RequestStepV1]:
    return type(name, (RequestStepV1,), {"__doc__": doc, "__module__": __name__})


RequestSubmittedV1 = _step("RequestSubmittedV1", "A patron or staff on their behalf submitted a request.")
RequestRoutedV1 = _step("RequestRoutedV1", "The broker asked a lender (the next one on the rota).")
RequestExpectedV1 = _step("RequestExpectedV1", "The lender expects to supply (not yet committed).")
RequestConditionalV1 = _step("RequestConditionalV1", "The lender offered to supply under conditions.")
RequestConditionsAcceptedV1 = _step("RequestConditionsAcceptedV1", "The borrower accepted the lender's conditions.")
RequestConditionsRejectedV1 = _step("RequestConditionsRejectedV1", "The borrower rejected the lender's conditions.")
RequestWillSupplyV1 = _step("RequestWillSupplyV1", "The lender will supply.")
RequestDeclinedV1 = _step("RequestDeclinedV1", "The lender cannot supply, or did not answer in time.")
RequestShippedV1 = _step("RequestShippedV1", "The lender shipped the item.")
RequestCopyDeliveredV1 = _step("RequestCopyDeliveredV1", "The lender delivered a copy; the request is done.")
RequestReceivedV1 = _step("RequestReceivedV1", "The borrowing library received the item.")
RequestCheckedOutV1 = _step("RequestCheckedOutV1", "The borrowing library lent the item to its patron.")
RequestReturnedV1 = _step("RequestReturnedV1", "The borrowing library shipped the item back.")
RequestCompletedV1 = _step("RequestCompletedV1", "The lender checked the item back in; the loan is done.")
RequestOverdueV1 = _step("RequestOverdueV1", "The loan is past its due date.")
RequestRecalledV1 = _step("RequestRecalledV1", "The lender recalled the item.")
RequestRenewalRequestedV1 = _step("RequestRenewalRequestedV1", "The borrower asked for a renewal.")
RequestRenewalAnsweredV1 = _step("RequestRenewalAnsweredV1", "The lender granted or refused a renewal.")
RequestCancelRequestedV1 = _step("RequestCancelRequestedV1", "The borrower asked the lender to cancel.")
RequestCancelRefusedV1 = _step("RequestCancelRefusedV1", "The lender refused to cancel (already on its way).")
RequestCancelledV1 = _step("RequestCancelledV1", "The request was cancelled.")
RequestDueSoonV1 = _step("RequestDueSoonV1", "A loan is due within the reminder period (3 days by default).")
RequestUnfilledV1 = _step("RequestUnfilledV1", "No lender on the rota could supply: the request ended unfilled.")

STEP_EVENTS: dict[str, type[RequestStepV1]] = {
    "submitted": RequestSubmittedV1, "routed": RequestRoutedV1, "expected": RequestExpectedV1,
    "conditional": RequestConditionalV1, "conditions_accepted": RequestConditionsAcceptedV1,
    "conditions_rejected": RequestConditionsRejectedV1, "will_supply": RequestWillSupplyV1,
    "declined": RequestDeclinedV1, "shipped": RequestShippedV1, "copy_delivered": RequestCopyDeliveredV1,
    "received": RequestReceivedV1, "checked_out": RequestCheckedOutV1, "returned": RequestReturnedV1,
    "completed": RequestCompletedV1, "overdue": RequestOverdueV1, "recalled": RequestRecalledV1,
    "renewal_requested": RequestRenewalRequestedV1, "renewal_answered": RequestRenewalAnsweredV1,
    "cancel_requested": RequestCancelRequestedV1, "cancel_refused": RequestCancelRefusedV1,
    "cancelled": RequestCancelledV1, "unfilled": RequestUnfilledV1, "due_soon": RequestDueSoonV1,
}
"""Step name -> payload model; the event type is `ill.request.<step>`."""
