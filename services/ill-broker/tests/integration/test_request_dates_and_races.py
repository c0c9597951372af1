"""What staff may say about a loan's dates, a patron's double click, input of the wrong type, and how declines are
counted: each found by a QA pass through the API (a 500 on a renewal, overdue notices for loans not yet due, six
requests for one double-clicked book, a note counted as a reason)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broker_fixtures import Broker, backend, broker, item, region

HOME = "CN-U1-ENG"
HOLDERS = ("CN-U1-MED", "CN-PL", "CN-FAR")   # the rota in that order: university, region, open


async def started(b: Broker) -> str:
    await b.add_institutions(region())
    await b.add_holdings([item(code, f"{code}-1", 7) for code in HOLDERS])
    created = await b.submit(b.patron(HOME), cluster_id=7)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def refused(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


def days(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


async def test_due_dates_stay_within_a_year_recalls_bring_them_forward_and_renewals_move_them_later(
        tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        await ok(await b.act(rid, "will_supply", lender))
        refused(await b.act(rid, "ship", lender, due_date="9999-12-31"), 422, "due_date")
        refused(await b.act(rid, "ship", lender, due_date=days(400)), 422, "due_date")
        await ok(await b.act(rid, "ship", lender, due_date=days(30)))
        await ok(await b.act(rid, "receive", home))
        await ok(await b.act(rid, "check_out", home))

        refused(await b.act(rid, "recall", lender, due_date=days(60)), 422, "due_date")   # a recall never extends
        await ok(await b.act(rid, "request_renewal", home))
        refused(await b.act(rid, "answer_renewal", lender, approve=True, due_date=days(10)), 422, "due_date")
        renewed = await ok(await b.act(rid, "answer_renewal", lender, approve=True, due_date=days(45)))
        assert renewed["due_date"] == days(45)
        recalled = await ok(await b.act(rid, "recall", lender, due_date=days(5)))
        assert recalled["due_date"] == days(5)


async def test_a_loan_is_overdue_only_once_its_due_date_has_passed(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        await ok(await b.act(rid, "will_supply", lender))
        await ok(await b.act(rid, "ship", lender, due_date=days(5)))
        await ok(await b.act(rid, "receive", home))
        before = (await b.stored(rid), await b.steps(rid), await b.events(rid))

        refused(await b.act(rid, "mark_overdue", lender), 409)
        assert (await b.stored(rid), await b.steps(rid), await b.events(rid)) == before
        await b.fire_due(datetime.now(UTC) + timedelta(days=7))
        assert (await b.view(rid, home)).json()["requester_state"] == "overdue"


async def test_an_overdue_loan_never_checked_out_is_received_again_when_renewed(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        await ok(await b.act(rid, "will_supply", lender))
        await ok(await b.act(rid, "ship", lender, due_date=days(1)))
        await ok(await b.act(rid, "receive", home))
        await b.fire_due(datetime.now(UTC) + timedelta(days=3))
        await ok(await b.act(rid, "request_renewal", home))
        renewed = await ok(await b.act(rid, "answer_renewal", lender, approve=True, due_date=days(10)))
        assert (renewed["requester_state"], renewed["supplier_state"]) == ("received", "shipped")
        assert "check_out" in (await b.view(rid, home)).json()["allowed_actions"]


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_patrons_requests_sent_at_once_for_one_item_make_one_request(kind: str, tmp_path: Path) -> None:
    async with backend(kind, tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item(code, f"{code}-1", 7) for code in HOLDERS])
        patron = b.patron(HOME)
        answers = await asyncio.gather(*(b.submit(patron, cluster_id=7) for _ in range(6)))

        assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409, 409, 409]
        [made] = [answer.json()["id"] for answer in answers if answer.status_code == 201]
        assert all(answer.json()["duplicates"] == [made] for answer in answers if answer.status_code == 409)


async def test_input_of_the_wrong_type_or_with_unknown_fields_is_refused(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 1)])
        refused(await b.submit(b.patron(HOME), cluster_id=True), 422, "cluster_id")   # not cluster 1
        refused(await b.submit(b.patron(HOME), cluster_id="1"), 422, "cluster_id")
        staff = b.staff(HOME)
        url = f"/ill/acquisition-suggestions/threshold/{HOME}"
        refused(await b.client.put(url, headers=staff, json={"threshold": 2, "window_days": 30, "x": 1}), 422, "x")
        refused(await b.client.put(url, headers=staff, json={"threshold": True, "window_days": 30}), 422,
                "threshold")
        assert (await b.client.put(url, headers=staff, json={"threshold": 2, "window_days": 30})).status_code == 200


async def test_declines_are_counted_by_their_code_never_by_a_note(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        await ok(await b.act(rid, "conditional", b.staff("CN-U1-MED"), conditions={"code": "CostExceedsMaxCost"}))
        await ok(await b.act(rid, "reject_conditions", b.staff(HOME), note="too expensive"))
        await b.fire_due(datetime.now(UTC) + timedelta(days=14))   # CN-PL never answers

        admin = b.tokens.headers("PLATFORM", scopes=["ill:manage"], roles=["platform-admin"])
        reasons = (await b.client.get("/ill/stats", headers=admin)).json()["unfilled_reasons"]
        assert reasons == {"conditions_rejected": 1, "NoAnswer": 1}
        assert [(e["lender"], e["status"], e["outcome"]) for e in await b.rota(rid)][:2] == [
            ("CN-U1-MED", "conditions_rejected", "CostExceedsMaxCost"), ("CN-PL", "no_answer", "NoAnswer")]


async def test_a_lender_that_declines_is_not_told_who_is_asked_next(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        declined = await ok(await b.act(rid, "cannot_supply", b.staff("CN-U1-MED"), reason="NotOnShelf"))
        assert (declined["lender"], declined["rota_position"], declined["answer_due_at"]) == (None, None, None)
        assert (await b.view(rid, b.staff(HOME))).json()["lender"] == "CN-PL"


async def test_an_amount_is_shown_with_two_places_however_it_was_written(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        offered = await ok(await b.act(rid, "conditional", b.staff("CN-U1-MED"), conditions={
            "code": "CostExceedsMaxCost", "cost": {"amount": 1e5, "currency": "CNY"}}))
        assert offered["conditions"]["cost"] == {"amount": "100000.00", "currency": "CNY"}
