"""The ways a request goes besides the straight loan: conditions, copies, cancelling, renewals, recalls,
duplicates, staff rerouting and the holders the rota leaves out; and what the API says when an action is not
allowed now (409 with the reason) or its input is wrong (422 naming the field)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from broker_fixtures import Broker, broker, item, region

from bibliomesh_contracts.events.directory import LendingPolicy
from bibliomesh_contracts.events.directory.institution import ClosedPeriod
from meshkit.dates import earliest_today

HOME = "CN-U1-ENG"
HOLDERS = ("CN-U1-MED", "CN-PL", "CN-FAR")   # the rota in that order: university, region, open


async def start(b: Broker, **policies: LendingPolicy) -> None:
    await b.add_institutions(region(**policies))
    await b.add_holdings([item(code, f"{code}-1", 7) for code in HOLDERS])


async def requested(b: Broker, patron: str = "reader", **body: Any) -> dict[str, Any]:
    created = await b.submit(b.patron(HOME, patron), **{"cluster_id": 7, **body})
    assert created.status_code == 201, created.text
    return dict(created.json())


async def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def states(view: dict[str, Any]) -> tuple[str, str | None]:
    return view["requester_state"], view["supplier_state"]


def refused(response: Any, status: int, detail: str | None = None, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if detail is not None:
        assert response.json()["detail"] == detail
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_conditions_accepted_lead_to_supply(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        offered = await ok(await b.act(rid, "conditional", lender, note="reading room only",
                                       conditions={"code": "LoanCondition", "note": "library use only"}))
        assert states(offered) == ("conditional_answer", "conditional")
        assert offered["conditions"] == {"code": "LoanCondition", "note": "library use only", "cost": None,
                                         "label": "Loan conditions apply (for example library use only)"}
        assert offered["answer_due_at"] is None
        assert (await b.view(rid, home)).json()["allowed_actions"] == ["accept_conditions", "reject_conditions",
                                                                       "cancel", "reroute"]
        accepted = await ok(await b.act(rid, "accept_conditions", home))
        assert states(accepted) == ("will_supply", "awaiting_ship")
        assert (await b.rota(rid))[0]["status"] == "supplying"
        assert (await b.events(rid))[-2:] == ["ill.request.conditional", "ill.request.conditions_accepted"]


async def test_conditions_rejected_move_on_to_the_next_lender(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        await ok(await b.act(rid, "conditional", b.staff("CN-U1-MED"), conditions={"code": "CostExceedsMaxCost"}))
        refused(await b.act(rid, "reject_conditions", b.patron(HOME)), 403,
                "only the borrower may reject conditions")
        moved = await ok(await b.act(rid, "reject_conditions", b.staff(HOME), note="too dear"))
        assert (moved["lender"], *states(moved)) == ("CN-PL", "sent_to_supplier", "new")
        assert moved["conditions"] is None and moved["answer_due_at"] is not None
        assert [(e["lender"], e["status"], e["outcome"]) for e in await b.rota(rid)] == [
            ("CN-U1-MED", "conditions_rejected", "CostExceedsMaxCost"), ("CN-PL", "asked", None),
            ("CN-FAR", "waiting", None)]
        assert (await b.steps(rid))[-3:] == ["conditional", "conditions_rejected", "routed"]


async def test_a_copy_is_delivered_with_a_url_and_completes_the_request(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b, service_type="copy", citation={"article_title": "On rotas", "pages": "1-9"}))["id"]
        lender = b.staff("CN-U1-MED")
        await ok(await b.act(rid, "will_supply", lender))
        refused(await b.act(rid, "ship", lender), 409, "a copy request cannot be shipped as a loan")
        refused(await b.act(rid, "deliver_copy", lender), 422, field="delivery.url")
        refused(await b.act(rid, "deliver_copy", lender, delivery={"url": "not a url"}), 422, field="delivery.url")
        url = "https://files.example.org/copies/on-rotas.pdf"
        done = await ok(await b.act(rid, "deliver_copy", lender, delivery={"url": url}))
        assert states(done) == ("completed", "copy_delivered")
        assert done["delivery"] == {"url": url} and done["allowed_actions"] == []
        assert (await b.view(rid, b.patron(HOME))).json()["delivery"] == {"url": url}
        assert (await b.events(rid))[-1] == "ill.request.copy_delivered"
        assert (await b.rota(rid))[0]["shipped_at"] is not None

        loan = (await requested(b, "other"))["id"]
        await ok(await b.act(loan, "will_supply", lender))
        refused(await b.act(loan, "deliver_copy", lender, delivery={"url": url}), 409,
                "a loan request cannot be answered with a copy")


async def test_cancelling_before_the_lender_answers_takes_effect_at_once(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        cancelled = await ok(await b.act(rid, "cancel", b.patron(HOME), note="found it on my shelf"))
        assert states(cancelled) == ("cancelled", "cancelled") and cancelled["allowed_actions"] == []
        assert cancelled["answer_due_at"] is None
        refused(await b.act(rid, "will_supply", b.staff("CN-U1-MED")), 409,
                "cannot will supply while the request is cancelled (lender side: cancelled)")
        assert (await b.rota(rid))[0]["status"] == "cancelled"
        assert (await b.events(rid))[-1] == "ill.request.cancelled"
        assert (await requested(b))["duplicate_of"] is None    # a cancelled request is no duplicate


async def test_cancelling_after_the_lender_committed_asks_the_lender_who_accepts(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        lender, patron = b.staff("CN-U1-MED"), b.patron(HOME)
        await ok(await b.act(rid, "will_supply", lender))
        asked = await ok(await b.act(rid, "cancel", patron))
        assert states(asked) == ("cancel_pending", "cancel_requested")
        refused(await b.act(rid, "cancel", patron), 409)
        refused(await b.act(rid, "ship", lender), 409,
                "cannot ship while the request is cancel_pending (lender side: cancel_requested)")
        assert (await b.view(rid, lender)).json()["allowed_actions"] == ["accept_cancel", "refuse_cancel"]
        done = await ok(await b.act(rid, "accept_cancel", lender))
        assert states(done) == ("cancelled", "cancelled")
        assert (await b.steps(rid))[-3:] == ["will_supply", "cancel_requested", "cancelled"]
        assert (await b.rota(rid))[0]["status"] == "cancelled"


async def test_cancelling_after_the_lender_committed_can_be_refused_and_the_loan_goes_on(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        lender = b.staff("CN-U1-MED")
        await ok(await b.act(rid, "will_supply", lender))
        await ok(await b.act(rid, "cancel", b.staff(HOME)))
        kept = await ok(await b.act(rid, "refuse_cancel", lender, note="already in the van"))
        assert states(kept) == ("will_supply", "awaiting_ship")
        assert states(await ok(await b.act(rid, "ship", lender))) == ("shipped", "shipped")
        first = (await b.rota(rid))[0]
        assert (first["lender"], first["status"]) == ("CN-U1-MED", "supplying")
        assert first["shipped_at"] is not None   # counts towards the lender's record (balance and speed)
        assert (await b.events(rid))[-3:] == ["ill.request.cancel_requested", "ill.request.cancel_refused",
                                              "ill.request.shipped"]


async def on_loan(b: Broker, rid: str, due: date | None = None) -> dict[str, Any]:
    lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
    await ok(await b.act(rid, "will_supply", lender))
    await ok(await b.act(rid, "ship", lender, **({"due_date": due.isoformat()} if due else {})))
    await ok(await b.act(rid, "receive", home))
    return await ok(await b.act(rid, "check_out", home))


async def test_renewals_approved_extend_the_due_date_and_refused_keep_it(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b, CN_U1_MED=LendingPolicy(loan_period_days=21))
        rid = (await requested(b))["id"]
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        today = datetime.now(UTC).date()
        loan = await on_loan(b, rid)
        assert loan["due_date"] == (today + timedelta(days=21)).isoformat()   # the lender's loan period

        refused(await b.act(rid, "answer_renewal", lender, approve=True), 409, "no renewal has been requested")
        pending = await ok(await b.act(rid, "request_renewal", home))
        assert pending["renewal_pending"] is True and states(pending) == ("checked_out", "shipped")
        refused(await b.act(rid, "request_renewal", home), 409,
                "a renewal is already waiting for the lender's answer")
        refused(await b.act(rid, "answer_renewal", lender), 422, field="approve")
        renewed = await ok(await b.act(rid, "answer_renewal", lender, approve=True))
        assert renewed["due_date"] == (today + timedelta(days=42)).isoformat()
        assert renewed["renewal_pending"] is False
        assert renewed["steps"][-1]["details"] == {"approved": True, "due_date": renewed["due_date"]}

        await ok(await b.act(rid, "request_renewal", home))
        kept = await ok(await b.act(rid, "answer_renewal", lender, approve=False, note="wanted back"))
        assert kept["due_date"] == renewed["due_date"] and kept["renewal_pending"] is False
        assert kept["steps"][-1]["details"] == {"approved": False}
        assert (await b.events(rid))[-2:] == ["ill.request.renewal_requested", "ill.request.renewal_answered"]


async def test_an_overdue_loan_renewed_is_checked_out_again(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        today = datetime.now(UTC).date()
        await on_loan(b, rid, due=today + timedelta(days=1))
        await b.fire_due(datetime.now(UTC) + timedelta(days=3))
        assert states((await b.view(rid, b.staff(HOME))).json()) == ("overdue", "overdue")
        await ok(await b.act(rid, "request_renewal", b.staff(HOME)))
        renewed = await ok(await b.act(rid, "answer_renewal", b.staff("CN-U1-MED"), approve=True,
                                       due_date=(today + timedelta(days=10)).isoformat()))
        assert states(renewed) == ("checked_out", "shipped")
        assert renewed["due_date"] == (today + timedelta(days=10)).isoformat()


async def test_a_recalled_item_goes_back_and_the_loan_completes(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        await on_loan(b, rid)
        back_by = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
        recalled = await ok(await b.act(rid, "recall", lender, due_date=back_by, note="needed for a course"))
        assert states(recalled) == ("recalled", "recalled") and recalled["due_date"] == back_by
        refused(await b.act(rid, "request_renewal", home), 409)
        refused(await b.act(rid, "recall", lender), 409)
        assert states(await ok(await b.act(rid, "return_item", home))) == ("returned", "return_shipped")
        assert states(await ok(await b.act(rid, "check_in", lender))) == ("completed", "completed")
        assert "ill.request.recalled" in await b.events(rid)


async def test_a_due_date_in_the_past_is_refused_when_shipping_renewing_or_recalling(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        today = datetime.now(UTC).date()
        yesterday, next_week = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=7)).isoformat()
        await ok(await b.act(rid, "will_supply", lender))
        before = (await b.stored(rid), await b.steps(rid), await b.events(rid))
        refused(await b.act(rid, "ship", lender, due_date="2020-11-01"), 422, field="due_date")
        refused(await b.act(rid, "ship", lender, due_date=yesterday), 422, field="due_date")
        assert (await b.stored(rid), await b.steps(rid), await b.events(rid)) == before

        shipped = await ok(await b.act(rid, "ship", lender, due_date=today.isoformat()))   # today is not past
        assert shipped["due_date"] == today.isoformat()
        await ok(await b.act(rid, "receive", home))
        await ok(await b.act(rid, "check_out", home))
        await ok(await b.act(rid, "request_renewal", home))
        refused(await b.act(rid, "answer_renewal", lender, approve=True, due_date=yesterday), 422, field="due_date")
        renewed = await ok(await b.act(rid, "answer_renewal", lender, approve=True, due_date=next_week))
        assert renewed["due_date"] == next_week
        refused(await b.act(rid, "recall", lender, due_date=yesterday), 422, field="due_date")
        recalled = await ok(await b.act(rid, "recall", lender, due_date=today.isoformat()))
        assert states(recalled) == ("recalled", "recalled") and recalled["due_date"] == today.isoformat()


async def test_duplicates_are_refused_unless_staff_file_one_on_purpose(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        first = (await requested(b))["id"]
        again = await b.submit(b.patron(HOME), cluster_id=7)
        refused(again, 409)
        assert again.json()["duplicates"] == [first] and first in again.json()["detail"]
        refused(await b.submit(b.patron(HOME), cluster_id=7, allow_duplicate=True), 409)   # staff only
        subject = b.patrons[f"{HOME}/reader"]
        refused(await b.submit(b.staff(HOME), cluster_id=7, patron_id=subject), 409)
        flagged = await b.submit(b.staff(HOME), cluster_id=7, patron_id=subject, allow_duplicate=True)
        assert flagged.status_code == 201, flagged.text
        assert (flagged.json()["duplicate_of"], flagged.json()["patron_id"]) == (first, subject)
        assert (await requested(b, "neighbour"))["duplicate_of"] is None   # another patron's request is no duplicate


async def test_staff_reroute_to_a_named_waiting_lender(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        home = b.staff(HOME)
        refused(await b.act(rid, "reroute", home, lender="CN-U1-MED"), 422, field="lender")   # asked now
        refused(await b.act(rid, "reroute", home, lender="CN-NOWHERE"), 422, field="lender")
        moved = await ok(await b.act(rid, "reroute", home, lender="CN-FAR", note="PL is closed for moving"))
        assert moved["lender"] == "CN-FAR" and states(moved) == ("sent_to_supplier", "new")
        assert [(e["lender"], e["status"]) for e in await b.rota(rid)] == [
            ("CN-U1-MED", "rerouted"), ("CN-PL", "waiting"), ("CN-FAR", "asked")]
        declined = moved["steps"][-2]
        assert (declined["step"], declined["party"], declined["lender"]) == ("declined", "borrower", "CN-U1-MED")
        after = await ok(await b.act(rid, "cannot_supply", b.staff("CN-FAR"), reason="NotOnShelf"))
        assert after["lender"] is None  # who is asked next is not the declining lender's business
        assert (await b.view(rid, home)).json()["lender"] == "CN-PL"  # the one passed over, in its turn
        assert (await ok(await b.act(rid, "reroute", home)))["requester_state"] == "unfilled"


async def test_reroute_to_a_lender_that_closed_since_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        today = datetime.now(UTC).date()
        closed = LendingPolicy(closed_periods=[ClosedPeriod(start=today, end=today + timedelta(days=5),
                                                            reason="moving")])
        far = next(s for s in region(CN_FAR=closed) if s.code == "CN-FAR")
        await b.add_institutions([far.model_copy(update={"version": 2})])
        before = await b.stored(rid)
        answer = await b.act(rid, "reroute", b.staff(HOME), lender="CN-FAR")
        refused(answer, 422, field="lender")
        assert "closed until" in answer.json()["errors"][0]["message"]
        assert await b.stored(rid) == before
        assert [e["status"] for e in await b.rota(rid)] == ["asked", "waiting", "waiting"]


async def test_the_rota_leaves_out_holders_that_cannot_lend_and_says_why(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        today = datetime.now(UTC).date()
        closed = ClosedPeriod(start=today - timedelta(days=1), end=today + timedelta(days=6), reason="inventory")
        snapshots = region(CN_U1=LendingPolicy(closed_periods=[closed]), CN_PL=LendingPolicy(max_active_loans=0),
                           CN_FAR=LendingPolicy(lends_loans=False))
        suspended = next(s for s in snapshots if s.code == "CN-U1-MED").model_copy(update={"status": "suspended"})
        extra = [s.model_copy(update={"code": code, "name_en": code}) for code in ("CN-MISS", "CN-OK")
                 for s in snapshots if s.code == "CN-PL"]
        extra = [e.model_copy(update={"policy": LendingPolicy()}) for e in extra]
        await b.add_institutions([s for s in snapshots if s.code != "CN-U1-MED"] + [suspended, *extra])
        await b.add_holdings([item(code, f"{code}-1", 7) for code in
                              (HOME, "CN-U1-MED", "CN-U1", "CN-PL", "CN-FAR", "CN-OK")] +
                             [item("CN-MISS", "CN-MISS-1", 7, status="missing")])
        request = await requested(b)
        assert request["lender"] == "CN-OK"
        rota = (await b.view(request["id"], b.staff(HOME))).json()["rota"]
        assert [(e["lender"], e["position"], e["status"]) for e in rota if e["position"]] == [("CN-OK", 1, "asked")]
        assert {e["lender"]: e["reason"] for e in rota if e["status"] == "skipped"} == {
            HOME: "the requesting institution itself",
            "CN-U1-MED": "suspended",
            "CN-U1": f"closed until {closed.end.isoformat()} (inventory)",
            "CN-PL": "at its lending limit (0 of 0 items out)",
            "CN-FAR": "does not lend returnable items",
            "CN-MISS": "no item can serve a loan request (items: missing)",
        }
        assert (await b.view(request["id"], b.patron(HOME))).json()["rota"] is None   # staff only


async def test_a_lender_suspended_after_the_rota_was_made_is_skipped_at_its_turn(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        regional = next(s for s in region() if s.code == "CN-PL")
        await b.add_institutions([regional.model_copy(update={"status": "suspended", "version": 2})])
        await ok(await b.act(rid, "cannot_supply", b.staff("CN-U1-MED"), reason="Lost"))
        assert (await b.view(rid, b.staff(HOME))).json()["lender"] == "CN-FAR"
        assert [(e["lender"], e["status"], e["outcome"]) for e in await b.rota(rid)] == [
            ("CN-U1-MED", "declined", "Lost"), ("CN-PL", "skipped", "suspended"), ("CN-FAR", "asked", None)]


async def test_not_now_is_409_with_the_reason_and_bad_input_is_422_naming_the_field(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        patron = b.patron(HOME)
        rid = (await requested(b))["id"]
        lender, home = b.staff("CN-U1-MED"), b.staff(HOME)
        before = (await b.stored(rid), await b.steps(rid), await b.events(rid))

        refused(await b.act(rid, "ship", lender), 409,
                "cannot ship while the request is sent_to_supplier (lender side: new)")
        refused(await b.act(rid, "cannot_supply", lender), 422, field="reason")
        refused(await b.act(rid, "cannot_supply", lender, reason="TooBusy"), 422, field="reason")
        refused(await b.act(rid, "conditional", lender), 422, field="conditions.code")
        refused(await b.act(rid, "conditional", lender, conditions={"code": "Whatever"}), 422,
                field="conditions.code")
        refused(await b.act(rid, "teleport", lender), 422, field="path.action")
        refused(await b.act(rid, "will_supply", lender, surprise=True), 422, field="surprise")
        refused(await b.act("no-such-request", "will_supply", lender), 404)
        refused(await b.view("no-such-request", lender), 404)
        assert (await b.stored(rid), await b.steps(rid), await b.events(rid)) == before

        await ok(await b.act(rid, "will_supply", lender))
        refused(await b.act(rid, "receive", home), 409,
                "cannot receive while the request is will_supply (lender side: awaiting_ship)")

        past_everywhere = (earliest_today() - timedelta(days=1)).isoformat()
        refused(await b.submit(patron, cluster_id=8, needed_by=past_everywhere), 422, field="needed_by")
        refused(await b.submit(patron, cluster_id=7, pickup_location="The moon"), 422, field="pickup_location")
        refused(await b.submit(patron, cluster_id=999), 404, "the broker knows no holdings of cluster 999")
        refused(await b.submit(patron), 422, field="citation")
        refused(await b.submit(patron, cluster_id=7, service_type="everything"), 422, field="service_type")
        # Still today west of UTC (a patron in UTC-5 late in the evening): not in the past.
        later = await b.submit(b.patron(HOME, "planner"), cluster_id=7, pickup_location="Engineering desk",
                               needed_by=earliest_today().isoformat())
        assert later.status_code == 201, later.text


async def test_a_lender_never_learns_who_the_patron_is(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await start(b)
        rid = (await requested(b))["id"]
        await ok(await b.act(rid, "will_supply", b.staff("CN-U1-MED")))
        await ok(await b.act(rid, "cancel", b.patron(HOME), note="found it on my shelf"))  # the patron acts
        borrowing = await ok(await b.view(rid, b.staff(HOME)))
        lending = await ok(await b.view(rid, b.staff("CN-U1-MED")))

        patron = borrowing["patron_id"]
        assert patron and patron in {s["actor"] for s in borrowing["steps"]}
        assert lending["patron_id"] is None
        assert patron not in {s["actor"] for s in lending["steps"]}
        assert "patron" in {s["actor"] for s in lending["steps"]}
        listed = await b.client.get("/ill/requests", params={"side": "lending"}, headers=b.staff("CN-U1-MED"))
        assert [r["patron_id"] for r in listed.json()] == [None]
