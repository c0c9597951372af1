"""What the request API takes and gives."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StrictInt, field_validator

from meshkit.web import MAX_ID

CENTS = Decimal("0.01")


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. `CNY`.")

    @field_validator("amount")
    @classmethod
    def _two_places(cls, amount: Decimal) -> Decimal:
        return amount.quantize(CENTS)   # `1e5` is shown as 100000.00, never `1E+5`


class Citation(BaseModel):
    """What the patron knows about the item; for a copy, the article or chapter and its pages."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=500, description="Book or journal title.")
    author: str | None = Field(default=None, max_length=300)
    isbn: str | None = Field(default=None, max_length=40)
    issn: str | None = Field(default=None, max_length=20)
    oclc: str | None = Field(default=None, max_length=20)
    year: str | None = Field(default=None, max_length=20)
    publisher: str | None = Field(default=None, max_length=300)
    edition: str | None = Field(default=None, max_length=100)
    journal_title: str | None = Field(default=None, max_length=500)
    article_title: str | None = Field(default=None, max_length=500, description="Article or chapter, for copies.")
    volume: str | None = Field(default=None, max_length=40)
    issue: str | None = Field(default=None, max_length=40)
    pages: str | None = Field(default=None, max_length=40)


class RequestCreate(BaseModel):
    """A new request: a union-catalogue cluster, or a citation."""

    model_config = ConfigDict(extra="forbid")

    cluster_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID,
                                         description="The cluster from a catalogue search.")
    citation: Citation = Field(default_factory=Citation, description="Required without `cluster_id`.")
    service_type: Literal["loan", "copy", "copy-or-loan"] = "loan"
    service_level: Literal["normal", "rush"] = "normal"
    pickup_location: str | None = Field(default=None, max_length=200)
    needed_by: date | None = None
    max_cost: Money | None = None
    note: str | None = Field(default=None, max_length=2000)
    patron_id: str | None = Field(default=None, max_length=200,
                                  description="Staff requesting on a patron's behalf name the patron.")
    borrower: str | None = Field(default=None, max_length=64, description="Platform admins only.")
    allow_duplicate: bool = Field(default=False, description="Staff may file a flagged duplicate on purpose.")


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="ISO 18626 reasonRetry code, e.g. `CostExceedsMaxCost`, `LoanCondition`.")
    cost: Money | None = None
    note: str | None = Field(default=None, max_length=2000)


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="Where the borrower downloads the copy.")


class ActionBody(BaseModel):
    """What an action carries; `GET /ill/requests/{id}` lists the actions allowed now."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=100, description="cannot_supply: an ISO 18626 "
                                                                          "reasonUnfilled code.")
    note: str | None = Field(default=None, max_length=2000)
    conditions: Conditions | None = Field(default=None, description="conditional: what the lender asks for.")
    delivery: Delivery | None = Field(default=None, description="deliver_copy: the copy's URL.")
    due_date: date | None = Field(default=None, description="ship, recall, answer_renewal: a due date.")
    approve: bool | None = Field(default=None, description="answer_renewal: grant or refuse.")
    lender: str | None = Field(default=None, max_length=64, description="reroute: ask this waiting lender next.")


class RotaEntryView(BaseModel):
    position: int | None = Field(description="Place on the rota; null for a skipped holder.")
    lender: str
    tier: str | None
    on_shelf: bool | None
    reason: str = Field(description="Why it is placed there, or why it was skipped.")
    status: str = Field(description="waiting, asked, expecting, conditional, supplying, declined, no_answer, "
                                    "conditions_rejected, rerouted, cancelled or skipped.")
    outcome: str | None
    asked_at: datetime | None
    answered_at: datetime | None
    shipped_at: datetime | None


class StepView(BaseModel):
    id: int
    step: str
    action: str | None
    actor: str
    actor_institution: str | None
    party: str
    lender: str | None
    requester_state: str
    supplier_state: str | None
    reason: str | None
    note: str | None
    details: dict[str, Any] | None
    occurred_at: datetime


class RequestView(BaseModel):
    id: str
    borrower: str
    patron_id: str | None
    origin: str
    cluster_id: int | None
    item_key: str
    title: str
    citation: dict[str, Any]
    service_type: str
    service_level: str
    pickup_location: str | None
    needed_by: date | None
    max_cost: dict[str, Any] | None
    note: str | None
    requester_state: str
    supplier_state: str | None
    lender: str | None
    rota_position: int | None
    answer_due_at: datetime | None
    due_date: date | None
    renewal_pending: bool
    conditions: dict[str, Any] | None
    delivery: dict[str, Any] | None
    duplicate_of: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    allowed_actions: list[str] = Field(description="What the caller may do next (POST .../actions/{action}).")
    rota: list[RotaEntryView] | None = Field(default=None, description="Staff of the borrower and platform admins.")
    steps: list[StepView] = Field(default_factory=list, description="The audit trail, oldest first.")


class PeerMessageView(BaseModel):
    """An ISO 18626 message queued for a peer outside the platform (its body and the peer's endpoint are not shown:
    either may carry credentials)."""

    id: int
    peer: str = Field(description="The peer's agency id.")
    on_behalf_of: str = Field(description="The institution the message speaks for (the borrowing library to a "
                                          "lender, the lender to a borrower); its `ill:manage` staff manage it.")
    step: str = Field(description="The request step that caused it.")
    kind: str = Field(description="request, requestingAgencyMessage or supplyingAgencyMessage.")
    status: str = Field(description="pending (queued, or being retried), sent, failed (refused by the peer or not "
                                    "taken after every try; holds back the later ones) or dropped (given up by "
                                    "staff).")
    attempts: int = Field(description="Tries so far (reset when redelivered).")
    last_error: str | None = Field(description="Why the last try failed, without the peer's endpoint.")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending only).")
    sent_at: datetime | None
    holds_later: bool = Field(description="Failed, with later messages of the request to the same peer waiting on "
                                          "it: redeliver or drop it to release them.")
    held_by: int | None = Field(description="Pending but waiting on this earlier failed message.")
