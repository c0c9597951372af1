"""The routing table: who hears about which step."""

from bibliomesh_contracts.registry import EVENT_TYPES
from bibliomesh_notify.domain.messages import MESSAGE_KINDS, Audience
from bibliomesh_notify.domain.routing import ROUTES, routes_for


def _told(audience: Audience) -> dict[str, str]:
    return {event: route.message_kind for event, routes in ROUTES.items() for route in routes
            if route.audience is audience}


def test_every_route_names_a_published_event_and_a_message_written_for_its_audience() -> None:
    published = {spec.name for spec in EVENT_TYPES}
    for event, routes in ROUTES.items():
        assert event in published, event
        for route in routes:
            assert MESSAGE_KINDS[route.message_kind] is route.audience, (event, route)


def test_every_message_kind_is_sent_by_some_route_except_the_ones_notify_raises_itself() -> None:
    routed = {route.message_kind for routes in ROUTES.values() for route in routes}
    assert set(MESSAGE_KINDS) - routed == {"admin.webhook_disabled"}


def test_the_patron_hears_about_the_steps_that_matter_to_them() -> None:
    assert _told(Audience.PATRON) == {
        "ill.request.submitted": "patron.submitted", "ill.request.routed": "patron.routed",
        "ill.request.shipped": "patron.shipped", "ill.request.received": "patron.ready_for_pickup",
        "ill.request.copy_delivered": "patron.copy_delivered", "ill.request.due_soon": "patron.due_soon",
        "ill.request.overdue": "patron.overdue", "ill.request.recalled": "patron.recalled",
        "ill.request.renewal_answered": "patron.renewal_answered", "ill.request.cancelled": "patron.cancelled",
        "ill.request.unfilled": "patron.unfilled"}


def test_libraries_hear_what_they_must_act_on() -> None:
    assert _told(Audience.LENDER_STAFF) == {
        "ill.request.routed": "lender.new_request", "ill.request.cancel_requested": "lender.cancel_requested",
        "ill.request.returned": "lender.item_returned", "ill.request.renewal_requested": "lender.renewal_requested"}
    assert _told(Audience.BORROWER_STAFF) == {
        "ill.request.conditional": "borrower.conditions_to_accept", "ill.request.shipped": "borrower.item_shipped",
        "ill.request.unfilled": "borrower.unfilled"}
    assert _told(Audience.INSTITUTION_ADMINS) == {"ill.acquisition.suggested": "admin.acquisition_suggested",
                                                  "catalog.import.finished": "admin.import_finished"}


def test_the_patron_hears_about_routing_once_and_declines_tell_nobody() -> None:
    patron_routed = [r for r in routes_for("ill.request.routed") if r.audience is Audience.PATRON]
    assert [r.once_per_request for r in patron_routed] == [True]
    lender_routed = [r for r in routes_for("ill.request.routed") if r.audience is Audience.LENDER_STAFF]
    assert [r.once_per_request for r in lender_routed] == [False]  # each new lender is asked anew
    for quiet in ("declined", "expected", "will_supply", "checked_out", "completed", "cancel_refused"):
        assert routes_for(f"ill.request.{quiet}") == ()
