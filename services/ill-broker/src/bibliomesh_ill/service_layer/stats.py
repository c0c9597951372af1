"""Service quality from the broker's own records: volume, fill rate, turnaround, balance, reasons for no."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median, quantiles
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.stats_queries import Decline, RequestFacts, declines, request_facts
from bibliomesh_ill.domain.codes import REASONS_UNFILLED

FILLED = {"shipped", "received", "checked_out", "overdue", "recalled", "returned", "completed"}
CLOSED = FILLED | {"unfilled", "cancelled"}


def _hours(facts: list[RequestFacts], attribute: str) -> dict[str, float | None]:
    values = sorted((getattr(f, attribute) - f.created_at).total_seconds() / 3600
                    for f in facts if getattr(f, attribute) is not None)
    if not values:
        return {"median": None, "p90": None, "count": 0}
    p90 = quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]
    return {"median": round(median(values), 2), "p90": round(p90, 2), "count": len(values)}


def _summary(facts: list[RequestFacts]) -> dict[str, Any]:
    filled = [f for f in facts if f.state in FILLED or f.shipped_at is not None]
    closed = [f for f in facts if f.state in CLOSED or f.shipped_at is not None]
    return {
        "requests": len(facts), "filled": len(filled), "unfilled": sum(f.state == "unfilled" for f in facts),
        "cancelled": sum(f.state == "cancelled" for f in facts), "open": len(facts) - len(closed),
        "fill_rate": round(len(filled) / len(closed), 4) if closed else None,
        "hours_to_shipped": _hours(filled, "shipped_at"), "hours_to_received": _hours(filled, "received_at"),
    }


def _bucket(moment: datetime, period: str) -> str:
    if period == "day":
        return moment.date().isoformat()
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{moment.year}-{moment.month:02d}"


async def statistics(session: AsyncSession, start: datetime, end: datetime, institution: str | None,
                     period: str = "month") -> dict[str, Any]:
    """Everything `GET /ill/stats` shows, for one institution (its borrowing and its lending) or the platform."""
    facts = await request_facts(session, start, end, institution)
    borrowing = [f for f in facts if institution is None or f.borrower == institution]
    lending = [f for f in facts if f.shipped_at is not None and (institution is None or f.lender == institution)]
    no = await declines(session, start, end, institution)
    by_tier: dict[str, list[RequestFacts]] = {}
    for fact in borrowing:
        if fact.tier and fact.shipped_at is not None:
            by_tier.setdefault(fact.tier, []).append(fact)
    institutions = sorted({f.borrower for f in facts} | {f.lender for f in lending if f.lender})
    return {
        "institution": institution, "from": start, "to": end,
        "borrowing": _summary(borrowing),
        "lending": {"supplied": len(lending), "hours_to_shipped": _hours(lending, "shipped_at"),
                    "declined": sum(1 for d in no if institution is None or d.lender == institution)},
        "balance": {"lent": len(lending), "borrowed": sum(1 for f in borrowing if f.shipped_at is not None)},
        "by_tier": {tier: {"filled": len(rows), "hours_to_shipped": _hours(rows, "shipped_at")}
                    for tier, rows in sorted(by_tier.items())},
        "unfilled_reasons": dict(Counter(_unfilled_reason(d) for d in no
                                         if institution is None or d.lender == institution).most_common()),
        "by_period": [{"period": key, **_summary(rows)} for key, rows in sorted(_periods(borrowing, period).items())],
        "by_institution": [
            {"institution": code, "borrowed": sum(f.borrower == code for f in facts),
             "filled_for_it": sum(f.borrower == code and f.shipped_at is not None for f in facts),
             "lent": sum(f.lender == code for f in lending)} for code in institutions
        ] if institution is None else [],
    }


def _unfilled_reason(decline: Decline) -> str:
    """The ISO 18626 reasonUnfilled code of a decline (`NoAnswer` for a lender skipped after its deadline), else
    its outcome (`conditions_rejected`). Rows from before outcomes were kept to codes may hold a note: not a key."""
    if decline.status == "no_answer":
        return "NoAnswer"
    if decline.status == "declined" and decline.reason in REASONS_UNFILLED:
        return decline.reason
    return decline.status


def _periods(facts: list[RequestFacts], period: str) -> dict[str, list[RequestFacts]]:
    grouped: dict[str, list[RequestFacts]] = {}
    for fact in facts:
        grouped.setdefault(_bucket(fact.created_at, period), []).append(fact)
    return grouped
