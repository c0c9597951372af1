"""The request aggregate: what the broker keeps about one interlibrary-loan request."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bibliomesh_ill.domain.states import TERMINAL_REQUESTER, RequesterState, SupplierState
from bibliomesh_ill.domain.transitions import Situation


@dataclass
class IllRequest:
    id: str
    borrower: str
    patron_id: str | None
    created_by: str
    origin: str                      # "platform", or "iso18626" for a request from a peer outside the platform
    item_key: str
    citation: dict[str, Any]
    title: str
    service_type: str
    service_level: str
    requester_state: RequesterState
    created_at: datetime
    updated_at: datetime
    version: int = 0
    peer_request_id: str | None = None
    cluster_id: int | None = None
    pickup_location: str | None = None
    needed_by: date | None = None
    max_cost: dict[str, Any] | None = None
    note: str | None = None
    supplier_state: SupplierState | None = None
    lender: str | None = None
    rota_position: int | None = None
    answer_due_at: datetime | None = None
    due_date: date | None = None
    reminded_due_date: date | None = None  # the due date a "due soon" reminder went out for
    renewal_pending: bool = False
    conditions: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None
    duplicate_of: str | None = None
    changed: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def active(self) -> bool:
        return self.requester_state not in TERMINAL_REQUESTER

    def situation(self) -> Situation:
        return Situation(self.requester_state, self.supplier_state, self.service_type, self.renewal_pending)

    def set(self, **values: Any) -> None:
        """Change fields; the repository writes only what changed, guarded by the version read."""
        for name, value in values.items():
            setattr(self, name, value)
            self.changed.add(name)

    def columns(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "changed"}
