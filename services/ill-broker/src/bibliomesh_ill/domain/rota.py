"""Building a request's rota: who is asked, in which order, and why each candidate is placed or skipped.

Order: tier (own university, region, open sharing), then availability (an item on the shelf before one on
loan), then load balance (lenders that have lent much more than they borrowed recently go later), then service
speed (median hours from being asked to shipping). Balance is compared in coarse bands (doubling steps of the
lent/borrowed ratio) so that speed still decides between lenders of similar balance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bibliomesh_ill.domain.tiers import Member, Tier, tier_between

LENDABLE_PRINT = frozenset({"available", "on-loan"})
COPYABLE_PRINT = frozenset({"available", "on-loan", "not-for-loan"})


@dataclass(frozen=True)
class Holding:
    institution: str
    item_id: str
    status: str
    format: str
    ill_copy_allowed: bool
    due_date: date | None = None
    cluster_id: int | None = None


@dataclass(frozen=True)
class LenderRecord:
    """What the broker has measured about a lender recently."""

    lent: int = 0
    borrowed: int = 0
    active_loans: int = 0
    median_hours_to_ship: float | None = None


@dataclass(frozen=True)
class RotaEntry:
    lender: str
    tier: Tier
    on_shelf: bool
    reason: str
    sort_key: tuple[Any, ...] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Skip:
    lender: str
    reason: str


@dataclass
class Rota:
    entries: list[RotaEntry]
    skipped: list[Skip]


def _suitable(items: list[Holding], service_type: str, policy: Mapping[str, Any]) -> tuple[list[Holding], str]:
    """Items that can serve the request, and the reason when none can."""
    wants_loan = service_type in ("loan", "copy-or-loan")
    wants_copy = service_type in ("copy", "copy-or-loan")
    loans = [i for i in items if i.format == "print" and i.status in LENDABLE_PRINT] \
        if wants_loan and policy.get("lends_loans", True) else []
    copies = [i for i in items if (i.format == "print" and i.status in COPYABLE_PRINT
                                   and policy.get("lends_copies", True))
              or (i.format == "electronic" and i.ill_copy_allowed and policy.get("lends_electronic_copies", False))] \
        if wants_copy else []
    suitable = list({(i.item_id): i for i in loans + copies}.values())
    if suitable:
        return suitable, ""
    statuses = ", ".join(sorted({i.status if i.format == "print" else "electronic" for i in items}))
    if wants_loan and not wants_copy and not policy.get("lends_loans", True):
        return [], "does not lend returnable items"
    if wants_copy and not wants_loan and not policy.get("lends_copies", True) and \
            not policy.get("lends_electronic_copies", False):
        return [], "does not supply copies"
    return [], f"no item can serve a {service_type} request (items: {statuses})"


def _balance_band(record: LenderRecord) -> int:
    return round(math.log2((record.lent + 1) / (record.borrowed + 1)))


def build_rota(borrower: Member, service_type: str, holdings: Iterable[Holding], members: Mapping[str, Member],
               records: Mapping[str, LenderRecord], today: date, exclude: frozenset[str] = frozenset()) -> Rota:
    """The ordered rota for a request, and every holder that was left out with the reason."""
    by_lender: dict[str, list[Holding]] = {}
    for holding in holdings:
        by_lender.setdefault(holding.institution, []).append(holding)
    entries: list[RotaEntry] = []
    skipped: list[Skip] = []
    for code in sorted(by_lender):
        reason = _skip_reason(borrower, members.get(code), code, exclude, records.get(code, LenderRecord()), today)
        if reason is not None:
            skipped.append(Skip(code, reason))
            continue
        lender = members[code]
        tier = tier_between(borrower, lender)
        assert tier is not None  # checked by _skip_reason
        items, why_not = _suitable(by_lender[code], service_type, lender.policy)
        if not items:
            skipped.append(Skip(code, why_not))
            continue
        entries.append(_entry(lender, tier, items, records.get(code, LenderRecord())))
    entries.sort(key=lambda e: e.sort_key)
    return Rota(entries, skipped)


def _skip_reason(borrower: Member, lender: Member | None, code: str, exclude: frozenset[str],
                 record: LenderRecord, today: date) -> str | None:
    if code == borrower.code:
        return "the requesting institution itself"
    if code in exclude:
        return "already asked for this request"
    if lender is None:
        return "not in the broker's copy of the directory"
    if not lender.active:
        return "suspended"
    if tier_between(borrower, lender) is None:
        return "shares neither a university, a region nor open sharing with the requester"
    closed = lender.closed_on(today)
    if closed is not None:
        why = f" ({closed['reason']})" if closed.get("reason") else ""
        return f"closed until {closed['end']}{why}"
    limit = int(lender.policy.get("max_active_loans", 100))
    if record.active_loans >= limit:
        return f"at its lending limit ({record.active_loans} of {limit} items out)"
    return None


def _entry(lender: Member, tier: Tier, items: list[Holding], record: LenderRecord) -> RotaEntry:
    on_shelf = [i for i in items if i.status != "on-loan"]
    due = min((i.due_date for i in items if i.due_date is not None), default=None)
    hours = record.median_hours_to_ship
    speed = hours if hours is not None else float(lender.policy.get("answer_within_hours", 48))
    shelf = f"{len(on_shelf)} of {len(items)} suitable items on the shelf" if on_shelf else \
        f"all {len(items)} suitable items on loan" + (f", first due {due.isoformat()}" if due else "")
    balance = f"lent {record.lent} / borrowed {record.borrowed} in 90 days"
    pace = f"ships in {hours:.0f} h (median)" if hours is not None else "no turnaround measured yet"
    reason = f"{tier.label} tier; {shelf}; {balance}; {pace}"
    key = (int(tier), 0 if on_shelf else 1, date.min if on_shelf else (due or date.max), _balance_band(record), speed,
           lender.code)
    return RotaEntry(lender.code, tier, bool(on_shelf), reason, key)
