"""How a request is shown: its progress as milestones, its audit trail as a timeline, and what needs attention in
a staff queue. Pure functions over the broker's `RequestView`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

LOAN_MILESTONES = ("submitted", "routed", "will_supply", "shipped", "received", "returned", "completed")
COPY_MILESTONES = ("submitted", "routed", "will_supply", "copy_delivered")
REACHES = {"conditions_accepted": "will_supply", "checked_out": "received"}
ENDED = {"cancelled", "unfilled"}

# Actions a button does alone; the others need a reason, a file or a choice on the request's page.
QUICK_ACTIONS = ("expect_to_supply", "will_supply", "ship", "receive", "check_out", "return_item", "check_in",
                 "accept_cancel", "refuse_cancel", "accept_conditions", "reject_conditions")
INPUT_ACTIONS = ("cannot_supply", "conditional", "deliver_copy", "answer_renewal", "reroute", "recall")

LENDING_ATTENTION = {"new": "answer", "expect_to_supply": "answer", "awaiting_ship": "ship",
                     "cancel_requested": "cancel_requested", "return_shipped": "check_in", "overdue": "overdue",
                     "conditional": "conditions_waiting"}
BORROWING_ATTENTION = {"conditional_answer": "conditions", "shipped": "receive", "received": "check_out",
                       "overdue": "overdue", "recalled": "recalled", "returned": "return_shipped"}
LENDING_CLOSED = {"completed", "cancelled", "cannot_supply", "copy_delivered"}
BORROWING_CLOSED = {"completed", "cancelled", "unfilled"}


def milestones(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Each milestone with `done`, `current` and when it was reached; an ended request adds its end."""
    names = COPY_MILESTONES if request.get("service_type") == "copy" else LOAN_MILESTONES
    reached: dict[str, str] = {}
    for step in request.get("steps", []):
        name = REACHES.get(step["step"], step["step"])
        if name in names or name in ENDED:
            reached.setdefault(name, step["occurred_at"])
    last = max((names.index(n) for n in reached if n in names), default=-1)
    shown = [{"name": n, "done": i <= last, "current": i == last, "at": reached.get(n)} for i, n in enumerate(names)]
    ended = next((n for n in ENDED if n in reached), None)
    if ended:
        shown = [m for m in shown if m["done"]] + [{"name": ended, "done": True, "current": True, "ended": True,
                                                    "at": reached[ended]}]
    return shown


def attention(request: dict[str, Any], side: str, now: datetime | None = None) -> str | None:
    """Why a request needs the library's attention now (a message key), or None."""
    if side == "lending":
        if request.get("renewal_pending"):
            return "renewal"
        reason = LENDING_ATTENTION.get(request.get("supplier_state") or "")
    else:
        reason = BORROWING_ATTENTION.get(request.get("requester_state") or "")
    if reason == "answer" and _late(request, now):
        return "answer_late"
    return reason


def closed(request: dict[str, Any], side: str) -> bool:
    if side == "lending":
        return (request.get("supplier_state") or "") in LENDING_CLOSED
    return request.get("requester_state") in BORROWING_CLOSED


def _late(request: dict[str, Any], now: datetime | None) -> bool:
    due = request.get("answer_due_at")
    if not due:
        return False
    moment = datetime.fromisoformat(due.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) < (now or datetime.now(UTC))


def queue(requests: list[dict[str, Any]], side: str, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The queue in three parts: needing attention (most urgent first), in progress, closed (newest first)."""
    urgent: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    done: list[dict[str, Any]] = []
    for request in requests:
        why = attention(request, side, now)
        row = {**request, "attention": why, "quick": [a for a in request.get("allowed_actions", [])
                                                      if a in QUICK_ACTIONS],
               "needs_input": [a for a in request.get("allowed_actions", []) if a in INPUT_ACTIONS]}
        (urgent if why else done if closed(request, side) else waiting).append(row)
    rank = {"answer_late": 0, "overdue": 1, "recalled": 1, "cancel_requested": 2, "conditions": 2, "renewal": 3}
    urgent.sort(key=lambda r: (rank.get(r["attention"], 4), r.get("answer_due_at") or "9999", r["created_at"]))
    waiting.sort(key=lambda r: r["created_at"])
    done.sort(key=lambda r: r["updated_at"], reverse=True)
    return {"attention": urgent, "active": waiting, "closed": done}


def action_body(action: str, form: dict[str, str]) -> dict[str, Any] | None:
    """The JSON an action carries, from the fields of its form."""
    body: dict[str, Any] = {}
    if form.get("note"):
        body["note"] = form["note"]
    if action == "cannot_supply":
        body["reason"] = form.get("reason", "")
    if action in ("ship", "recall", "answer_renewal") and form.get("due_date"):
        body["due_date"] = form["due_date"]
    if action == "answer_renewal":
        body["approve"] = form.get("approve") == "yes"
    if action == "deliver_copy":
        body["delivery"] = {"url": form.get("url", "")}
    if action == "reroute" and form.get("lender"):
        body["lender"] = form["lender"]
    if action == "conditional":
        conditions: dict[str, Any] = {"code": form.get("condition", "")}
        if form.get("cost_amount"):
            conditions["cost"] = {"amount": form["cost_amount"], "currency": form.get("cost_currency") or "CNY"}
        if form.get("note"):
            conditions["note"] = form["note"]
        body["conditions"] = conditions
    return body or None
