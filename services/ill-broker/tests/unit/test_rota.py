"""Rota order: tier first, then an item on the shelf before one on loan, then the load-balance band, then speed;
every holder left out is named with the reason."""

from __future__ import annotations

from datetime import date
from typing import Any

from bibliomesh_ill.domain.rota import Holding, LenderRecord, build_rota
from bibliomesh_ill.domain.tiers import Member

TODAY = date(2025, 3, 12)


def member(code: str, kind: str = "public-library", parent: str | None = None, regions: tuple[str, ...] = ("R",),
           open_sharing: bool = True, active: bool = True, **policy: Any) -> Member:
    return Member(code=code, kind=kind, parent_code=parent, regions=frozenset(regions), open_sharing=open_sharing,
                  active=active, policy=policy)


BORROWER = member("U1-ENG", "branch-library", "U1")
SISTER = member("U1-MED", "branch-library", "U1")
FAR = member("FAR", "university", regions=("ELSEWHERE",))


def held(institution: str, status: str = "available", item_id: str | None = None, fmt: str = "print",
         copy_allowed: bool = False, due: date | None = None) -> Holding:
    return Holding(institution=institution, item_id=item_id or f"{institution}-{status}", status=status, format=fmt,
                   ill_copy_allowed=copy_allowed, due_date=due)


def order(holdings: list[Holding], members: list[Member], records: dict[str, LenderRecord] | None = None,
          service_type: str = "loan", exclude: frozenset[str] = frozenset()) -> list[str]:
    rota = build_rota(BORROWER, service_type, holdings, {m.code: m for m in members}, records or {}, TODAY,
                      exclude)
    return [e.lender for e in rota.entries]


def skipped(holdings: list[Holding], members: list[Member], records: dict[str, LenderRecord] | None = None,
            service_type: str = "loan") -> dict[str, str]:
    rota = build_rota(BORROWER, service_type, holdings, {m.code: m for m in members}, records or {}, TODAY)
    return {s.lender: s.reason for s in rota.skipped}


def test_tier_comes_first_even_against_a_faster_lender_with_the_item_on_the_shelf() -> None:
    region = member("PL")
    records = {"PL": LenderRecord(median_hours_to_ship=1), "U1-MED": LenderRecord(median_hours_to_ship=200)}
    holdings = [held("FAR"), held("PL"), held("U1-MED", "on-loan", due=date(2025, 6, 1))]
    assert order(holdings, [SISTER, region, FAR], records) == ["U1-MED", "PL", "FAR"]
    rota = build_rota(BORROWER, "loan", holdings, {m.code: m for m in (SISTER, region, FAR)}, records, TODAY)
    assert [e.tier.label for e in rota.entries] == ["university", "region", "open"]


def test_within_a_tier_the_shelf_comes_before_loans_and_the_earliest_return_first() -> None:
    lenders = [member("A"), member("B"), member("C")]
    holdings = [held("A", "on-loan", due=date(2025, 5, 1)), held("B", "on-loan", due=date(2025, 4, 1)),
                held("C")]
    records = {"C": LenderRecord(lent=60, borrowed=0, median_hours_to_ship=300)}  # even a busy, slow lender
    assert order(holdings, lenders, records) == ["C", "B", "A"]
    rota = build_rota(BORROWER, "loan", holdings, {m.code: m for m in lenders}, records, TODAY)
    assert rota.entries[0].on_shelf and not rota.entries[1].on_shelf
    assert "first due 2025-04-01" in rota.entries[1].reason


def test_lenders_that_lent_much_more_than_they_borrowed_go_later_even_when_faster() -> None:
    lenders = [member("BUSY"), member("EVEN")]
    records = {"BUSY": LenderRecord(lent=40, borrowed=2, median_hours_to_ship=2),     # band round(log2(41/3)) = 4
               "EVEN": LenderRecord(lent=5, borrowed=5, median_hours_to_ship=40)}     # band 0
    assert order([held("BUSY"), held("EVEN")], lenders, records) == ["EVEN", "BUSY"]


def test_within_a_balance_band_the_faster_lender_goes_first() -> None:
    lenders = [member("SLOW"), member("FAST"), member("NEW", answer_within_hours=24)]
    records = {"SLOW": LenderRecord(lent=3, borrowed=2, median_hours_to_ship=30),     # band round(log2(4/3)) = 0
               "FAST": LenderRecord(lent=2, borrowed=3, median_hours_to_ship=10)}     # band round(log2(3/4)) = 0
    # a lender with no turnaround measured yet is placed by the answer time its policy promises
    assert order([held("SLOW"), held("FAST"), held("NEW")], lenders, records) == ["FAST", "NEW", "SLOW"]


def test_every_left_out_holder_is_named_with_the_reason() -> None:
    lenders = [
        member("SUSPENDED", active=False),
        member("CLOSED", closed_periods=[{"start": "2025-03-01", "end": "2025-03-20", "reason": "moving"}]),
        member("FULL", max_active_loans=3),
        member("COPIES-ONLY", lends_loans=False),
        member("MISSING"),
        member("ISOLATED", regions=("ELSEWHERE",), open_sharing=False),
        member("OK"),
    ]
    holdings = [held("U1-ENG"), held("SUSPENDED"), held("CLOSED"), held("FULL"), held("COPIES-ONLY"),
                held("MISSING", "missing"), held("ISOLATED"), held("GONE"), held("OK")]
    records = {"FULL": LenderRecord(active_loans=3)}
    assert skipped(holdings, lenders, records) == {
        "U1-ENG": "the requesting institution itself",
        "SUSPENDED": "suspended",
        "CLOSED": "closed until 2025-03-20 (moving)",
        "FULL": "at its lending limit (3 of 3 items out)",
        "COPIES-ONLY": "does not lend returnable items",
        "MISSING": "no item can serve a loan request (items: missing)",
        "ISOLATED": "shares neither a university, a region nor open sharing with the requester",
        "GONE": "not in the broker's copy of the directory",
    }
    assert order(holdings, lenders, records) == ["OK"]


def test_a_closed_period_that_has_ended_or_not_begun_does_not_skip() -> None:
    lenders = [member("BEFORE", closed_periods=[{"start": "2025-01-01", "end": "2025-03-11"}]),
               member("AFTER", closed_periods=[{"start": "2025-03-13", "end": "2025-04-01"}]),
               member("TODAY", closed_periods=[{"start": "2025-03-12", "end": "2025-03-12"}])]
    holdings = [held("BEFORE"), held("AFTER"), held("TODAY")]
    assert sorted(order(holdings, lenders)) == ["AFTER", "BEFORE"]
    assert skipped(holdings, lenders) == {"TODAY": "closed until 2025-03-12"}


def test_copies_come_from_print_that_does_not_circulate_and_from_licensed_electronic_items() -> None:
    lenders = [member("REF"), member("E-OK", lends_electronic_copies=True), member("E-NO"),
               member("NO-COPIES", lends_copies=False)]
    holdings = [held("REF", "not-for-loan"), held("E-OK", fmt="electronic", copy_allowed=True),
                held("E-NO", fmt="electronic", copy_allowed=True), held("NO-COPIES")]
    assert sorted(order(holdings, lenders, service_type="copy")) == ["E-OK", "REF"]
    assert skipped(holdings, lenders, service_type="copy") == {
        "E-NO": "no item can serve a copy request (items: electronic)",
        "NO-COPIES": "does not supply copies"}
    # a reference-only book is no loan
    assert skipped(holdings, lenders)["REF"] == "no item can serve a loan request (items: not-for-loan)"


def test_lenders_already_asked_are_left_out() -> None:
    rota = build_rota(BORROWER, "loan", [held("A"), held("B")], {"A": member("A"), "B": member("B")}, {}, TODAY,
                      frozenset({"A"}))
    assert [e.lender for e in rota.entries] == ["B"]
    assert [(s.lender, s.reason) for s in rota.skipped] == [("A", "already asked for this request")]


def test_each_placement_explains_itself() -> None:
    rota = build_rota(BORROWER, "loan", [held("PL"), held("PL", "on-loan")], {"PL": member("PL")},
                      {"PL": LenderRecord(lent=4, borrowed=2, median_hours_to_ship=20)}, TODAY)
    assert rota.entries[0].reason == ("region tier; 1 of 2 suitable items on the shelf; "
                                      "lent 4 / borrowed 2 in 90 days; ships in 20 h (median)")
