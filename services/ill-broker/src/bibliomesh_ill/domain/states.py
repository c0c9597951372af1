"""The states of a request on each side, modelled on ISO 18626 and the way ReShare and CrossLink use it.

The borrowing library's side (`RequesterState`) lives as long as the request; the lending side
(`SupplierState`) belongs to the lender currently asked and starts again at `NEW` with the next lender.
"""

from __future__ import annotations

from enum import StrEnum


class RequesterState(StrEnum):
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    SOURCING = "sourcing"
    SENT_TO_SUPPLIER = "sent_to_supplier"
    EXPECTS_TO_SUPPLY = "expects_to_supply"
    CONDITIONAL_ANSWER = "conditional_answer"
    WILL_SUPPLY = "will_supply"
    CANCEL_PENDING = "cancel_pending"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CHECKED_OUT = "checked_out"
    OVERDUE = "overdue"
    RECALLED = "recalled"
    RETURNED = "returned"
    COMPLETED = "completed"
    UNFILLED = "unfilled"
    CANCELLED = "cancelled"


class SupplierState(StrEnum):
    NEW = "new"
    EXPECT_TO_SUPPLY = "expect_to_supply"
    CONDITIONAL = "conditional"
    AWAITING_SHIP = "awaiting_ship"
    CANCEL_REQUESTED = "cancel_requested"
    SHIPPED = "shipped"
    OVERDUE = "overdue"
    RECALLED = "recalled"
    RETURN_SHIPPED = "return_shipped"
    COMPLETED = "completed"
    COPY_DELIVERED = "copy_delivered"
    CANNOT_SUPPLY = "cannot_supply"
    CANCELLED = "cancelled"


TERMINAL_REQUESTER = frozenset({RequesterState.COMPLETED, RequesterState.UNFILLED, RequesterState.CANCELLED})
# Lender sides that still hold the borrower's attention (and count against the lender's loan limit).
ACTIVE_SUPPLY = frozenset({SupplierState.AWAITING_SHIP, SupplierState.SHIPPED, SupplierState.OVERDUE,
                           SupplierState.RECALLED, SupplierState.RETURN_SHIPPED, SupplierState.CANCEL_REQUESTED})
# States in which the current lender has not committed yet: a timeout or a decline moves on to the next.
AWAITING_ANSWER = frozenset({SupplierState.NEW, SupplierState.EXPECT_TO_SUPPLY})
