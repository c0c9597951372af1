"""How requests are shown: milestones from the audit trail, the staff queue's order, and action bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bibliomesh_web.requests_view import action_body, milestones, queue

NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)


def _request(rid: str, **fields: Any) -> dict[str, Any]:
    return {"id": rid, "service_type": "loan", "requester_state": "sent_to_supplier", "supplier_state": "new",
            "renewal_pending": False, "allowed_actions": [], "created_at": f"2025-03-0{rid}T00:00:00Z",
            "updated_at": f"2025-03-0{rid}T00:00:00Z", "answer_due_at": None, "steps": [], **fields}


def test_milestones_follow_the_steps_taken() -> None:
    steps = [{"step": s, "occurred_at": "2025-03-01T10:00:00"} for s in
             ("submitted", "validated", "sourcing", "routed", "declined", "routed", "will_supply", "shipped")]
    shown = milestones(_request("1", steps=steps))
    assert [m["name"] for m in shown if m["done"]] == ["submitted", "routed", "will_supply", "shipped"]
    assert [m["name"] for m in shown if m["current"]] == ["shipped"]


def test_an_ended_request_shows_how_it_ended() -> None:
    steps = [{"step": s, "occurred_at": "2025-03-01T10:00:00"} for s in ("submitted", "routed", "cancelled")]
    shown = milestones(_request("1", service_type="copy", steps=steps))
    assert [m["name"] for m in shown] == ["submitted", "routed", "cancelled"] and shown[-1]["ended"]


def test_the_lending_queue_puts_late_answers_first_and_closed_ones_apart() -> None:
    requests = [
        _request("1", supplier_state="shipped"),
        _request("2", answer_due_at="2025-03-12T00:00:00Z", allowed_actions=["will_supply", "cannot_supply"]),
        _request("3", answer_due_at="2025-03-09T00:00:00", allowed_actions=["will_supply"]),
        _request("4", supplier_state="cannot_supply"),
        _request("5", supplier_state="shipped", renewal_pending=True, allowed_actions=["answer_renewal"]),
    ]
    parts = queue(requests, "lending", NOW)
    assert [(r["id"], r["attention"]) for r in parts["attention"]] == [
        ("3", "answer_late"), ("5", "renewal"), ("2", "answer")]
    assert parts["attention"][2]["quick"] == ["will_supply"]
    assert parts["attention"][2]["needs_input"] == ["cannot_supply"]
    assert [r["id"] for r in parts["active"]] == ["1"] and [r["id"] for r in parts["closed"]] == ["4"]


def test_the_borrowing_queue_asks_for_conditions_and_receipts() -> None:
    requests = [_request("1", requester_state="conditional_answer"), _request("2", requester_state="shipped"),
                _request("3", requester_state="unfilled")]
    parts = queue(requests, "borrowing", NOW)
    assert {r["id"]: r["attention"] for r in parts["attention"]} == {"1": "conditions", "2": "receive"}
    assert [r["id"] for r in parts["closed"]] == ["3"]


def test_action_bodies_carry_what_each_action_needs() -> None:
    assert action_body("will_supply", {"csrf": "x", "back": "/"}) is None
    assert action_body("cannot_supply", {"reason": "NotOnShelf"}) == {"reason": "NotOnShelf"}
    assert action_body("ship", {"due_date": "2025-04-01", "note": "box 3"}) == {"due_date": "2025-04-01",
                                                                                 "note": "box 3"}
    assert action_body("answer_renewal", {"approve": "no"}) == {"approve": False}
    assert action_body("deliver_copy", {"url": "https://x.example/c.pdf"}) == {
        "delivery": {"url": "https://x.example/c.pdf"}}
    assert action_body("conditional", {"condition": "LoanCondition", "cost_amount": "20"}) == {
        "conditions": {"code": "LoanCondition", "cost": {"amount": "20", "currency": "CNY"}}}
