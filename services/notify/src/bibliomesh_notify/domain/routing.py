"""The routing table: which event tells whom what. One declared table, read by the consumer and by the docs."""

from __future__ import annotations

from dataclasses import dataclass

from bibliomesh_notify.domain.messages import Audience

P, B, L, A = Audience.PATRON, Audience.BORROWER_STAFF, Audience.LENDER_STAFF, Audience.INSTITUTION_ADMINS


@dataclass(frozen=True)
class Route:
    audience: Audience
    message_kind: str
    once_per_request: bool = False
    """Say it only the first time for a request (the patron hears about routing once, not for every lender)."""


ROUTES: dict[str, tuple[Route, ...]] = {
    "ill.request.submitted": (Route(P, "patron.submitted"),),
    "ill.request.routed": (Route(P, "patron.routed", once_per_request=True), Route(L, "lender.new_request")),
    "ill.request.conditional": (Route(B, "borrower.conditions_to_accept"),),
    "ill.request.shipped": (Route(P, "patron.shipped"), Route(B, "borrower.item_shipped")),
    "ill.request.received": (Route(P, "patron.ready_for_pickup"),),
    "ill.request.copy_delivered": (Route(P, "patron.copy_delivered"),),
    "ill.request.due_soon": (Route(P, "patron.due_soon"),),
    "ill.request.overdue": (Route(P, "patron.overdue"),),
    "ill.request.recalled": (Route(P, "patron.recalled"),),
    "ill.request.renewal_requested": (Route(L, "lender.renewal_requested"),),
    "ill.request.renewal_answered": (Route(P, "patron.renewal_answered"),),
    "ill.request.cancel_requested": (Route(L, "lender.cancel_requested"),),
    "ill.request.returned": (Route(L, "lender.item_returned"),),
    "ill.request.cancelled": (Route(P, "patron.cancelled"),),
    "ill.request.unfilled": (Route(P, "patron.unfilled"), Route(B, "borrower.unfilled")),
    "ill.acquisition.suggested": (Route(A, "admin.acquisition_suggested"),),
    "catalog.import.finished": (Route(A, "admin.import_finished"),),
}
"""Steps not listed (expected, will_supply, declined, conditions_accepted/rejected, checked_out, completed,
cancel_refused) tell no person: they are internal to the libraries, which see them on the request itself and
through webhooks. Declines in particular would be noise: the broker asks the next lender at once."""


def routes_for(event_type: str) -> tuple[Route, ...]:
    return ROUTES.get(event_type, ())
