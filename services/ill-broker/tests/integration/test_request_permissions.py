"""Actions by the right party only: persona x action at the points of a loan where each side has something to do.

Personas: the patron the request is for, another patron of the same library, the borrowing library's staff, the
lender asked now, a lender still waiting on the rota, a third institution's staff, a platform admin (support),
a token without ILL scopes, and nobody (no token). Every refusal leaves the request as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from broker_fixtures import Broker, broker, item, region

HOME, LENDER, WAITING, THIRD = "CN-U1-ENG", "CN-U1-MED", "CN-PL", "CN-U1"
LENDER_ANSWERS = ("expect_to_supply", "will_supply", "conditional", "cannot_supply")
LENDER_LOAN_ACTIONS = ("recall", "check_in", "mark_overdue")
BORROWER_LOAN_ACTIONS = ("receive",)


async def started(b: Broker) -> str:
    await b.add_institutions(region())
    await b.add_holdings([item(LENDER, "m1", 7), item(WAITING, "p1", 7)])
    created = await b.submit(b.patron(HOME), cluster_id=7)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def personas(b: Broker) -> dict[str, dict[str, str]]:
    return {
        "patron": b.patron(HOME),
        "another patron": b.patron(HOME, "neighbour"),
        "borrower staff": b.staff(HOME),
        "lender staff": b.staff(LENDER),
        "waiting lender staff": b.staff(WAITING),
        "third institution staff": b.staff(THIRD),
        "admin": b.admin(),
        "no ill scopes": b.tokens.headers(HOME, scopes=["catalog:read"], roles=["staff"], subject=f"staff:{HOME}"),
        "nobody": {},
    }


async def snapshot(b: Broker, rid: str) -> tuple[Any, ...]:
    return await b.stored(rid), await b.steps(rid), await b.events(rid), await b.rota(rid)


def status_of(response: Any) -> int:
    return int(response.status_code)


async def test_who_may_see_a_request(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        seen = {name: await b.view(rid, headers) for name, headers in personas(b).items()}
        assert {name: status_of(r) for name, r in seen.items()} == {
            "patron": 200, "another patron": 403, "borrower staff": 200, "lender staff": 200,
            "waiting lender staff": 403, "third institution staff": 403, "admin": 200, "no ill scopes": 403,
            "nobody": 401}
        # the rota is for the borrowing side's staff (and support); the trail for everyone who may see
        assert seen["borrower staff"].json()["rota"] and seen["admin"].json()["rota"]
        assert seen["patron"].json()["rota"] is None and seen["lender staff"].json()["rota"] is None
        assert seen["patron"].json()["steps"] and seen["lender staff"].json()["steps"]
        assert "is neither the borrower nor the current lender" in seen["third institution staff"].json()["detail"]
        allowed = {name: seen[name].json()["allowed_actions"] for name in
                   ("patron", "borrower staff", "lender staff", "admin")}
        assert allowed == {"patron": ["cancel"], "borrower staff": ["cancel", "reroute"],
                           "lender staff": list(LENDER_ANSWERS),
                           "admin": [*LENDER_ANSWERS, "cancel", "reroute"]}

        mine = await b.client.get("/ill/requests", headers=b.patron(HOME))
        assert [r["id"] for r in mine.json()] == [rid]
        assert (await b.client.get("/ill/requests", headers=b.patron(HOME, "neighbour"))).json() == []
        lending = await b.client.get("/ill/requests", params={"side": "lending"}, headers=b.staff(LENDER))
        assert [r["id"] for r in lending.json()] == [rid]
        assert (await b.client.get("/ill/requests", params={"side": "lending"},
                                   headers=b.staff(WAITING))).json() == []
        assert status_of(await b.client.get("/ill/requests", params={"side": "borrowing"},
                                            headers=b.patron(HOME))) == 403
        assert status_of(await b.client.get("/ill/requests")) == 401


async def test_the_lenders_answers_belong_to_the_lender_asked_now(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        people = personas(b)
        before = await snapshot(b, rid)
        expected = {"patron": 403, "another patron": 403, "borrower staff": 403, "waiting lender staff": 403,
                    "third institution staff": 403, "no ill scopes": 403, "nobody": 401}
        for action in LENDER_ANSWERS:
            body = {"reason": "NotHeld", "conditions": {"code": "LoanCondition"}}
            got = {name: status_of(await b.act(rid, action, people[name], **body)) for name in expected}
            assert got == expected, action
        refusal = await b.act(rid, "will_supply", people["borrower staff"])
        assert refusal.json()["detail"] == "only the lender may will supply"
        # the borrower's own moves are not the lender's
        for action in ("reroute", "cancel"):
            assert status_of(await b.act(rid, action, people["lender staff"])) == 403, action
        assert await snapshot(b, rid) == before

        assert status_of(await b.act(rid, "will_supply", people["lender staff"])) == 200


async def test_on_loan_each_side_keeps_to_its_own_actions(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        people = personas(b)
        assert status_of(await b.act(rid, "will_supply", people["lender staff"])) == 200
        assert status_of(await b.act(rid, "ship", people["lender staff"])) == 200
        before = await snapshot(b, rid)
        for action in LENDER_LOAN_ACTIONS:
            for name in ("patron", "borrower staff", "third institution staff", "waiting lender staff"):
                assert status_of(await b.act(rid, action, people[name])) == 403, (action, name)
        for action in BORROWER_LOAN_ACTIONS:
            for name in ("lender staff", "third institution staff", "another patron"):
                assert status_of(await b.act(rid, action, people[name])) == 403, (action, name)
        # the patron follows the loan but does not handle the item: that is the library's job
        assert (await b.act(rid, "receive", people["patron"])).json()["detail"] == "only the borrower may receive"
        assert status_of(await b.act(rid, "cancel", people["patron"])) == 409     # the patron's action, not now
        assert await snapshot(b, rid) == before

        assert status_of(await b.act(rid, "receive", people["borrower staff"])) == 200


async def test_a_patron_cannot_act_on_or_see_another_patrons_request(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        neighbour = b.patron(HOME, "neighbour")
        before = await snapshot(b, rid)
        for action in ("cancel", "receive", "will_supply"):
            assert status_of(await b.act(rid, action, neighbour)) == 403, action
        assert status_of(await b.view(rid, neighbour)) == 403
        # nor file a request in another patron's name
        subject = b.patrons[f"{HOME}/reader"]
        assert status_of(await b.submit(neighbour, cluster_id=7, patron_id=subject, allow_duplicate=True)) == 403
        assert await snapshot(b, rid) == before


async def test_no_token_is_401_and_a_token_without_ill_scopes_is_403(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        before = await snapshot(b, rid)
        nobody: dict[str, str] = {}
        bare = b.tokens.headers(HOME, scopes=["catalog:read"], roles=["staff"], subject=f"staff:{HOME}")
        expired = b.tokens.headers(HOME, scopes=["ill:manage"], expires_in=-600)
        assert status_of(await b.submit(nobody, cluster_id=7)) == 401
        assert status_of(await b.act(rid, "cancel", nobody)) == 401
        assert status_of(await b.act(rid, "cancel", expired)) == 401
        assert status_of(await b.view(rid, nobody)) == 401
        assert status_of(await b.submit(bare, cluster_id=7)) == 403
        answer = await b.act(rid, "cancel", bare)
        assert status_of(answer) == 403 and "`ill:request`, `ill:lend` or `ill:manage`" in answer.json()["detail"]
        assert status_of(await b.view(rid, bare)) == 403
        # a lender's staff without `ill:lend` cannot answer for it
        no_lend = b.tokens.headers(LENDER, scopes=["ill:request", "ill:manage"], subject=f"staff:{LENDER}")
        assert status_of(await b.act(rid, "will_supply", no_lend)) == 403
        assert await snapshot(b, rid) == before


async def test_a_platform_admin_may_act_for_either_library_as_support(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        rid = await started(b)
        admin = b.admin()
        answered = await b.act(rid, "will_supply", admin, note="on the phone with the lender")
        assert answered.status_code == 200, answered.text
        step = answered.json()["steps"][-1]
        assert (step["party"], step["actor"], step["actor_institution"]) == ("lender", "admin:platform", "PLATFORM")
        assert (await b.act(rid, "ship", admin)).status_code == 200
        received = await b.act(rid, "receive", admin)
        assert received.status_code == 200 and received.json()["steps"][-1]["party"] == "borrower"
        # support is never the patron: filing for a library needs it named, and the patron by id
        assert (await b.submit(admin, cluster_id=7)).status_code == 422          # PLATFORM borrows nothing
        subject = b.patrons[f"{HOME}/reader"]
        filed = await b.submit(admin, cluster_id=7, borrower=HOME, patron_id=subject, allow_duplicate=True)
        assert filed.status_code == 201, filed.text
        assert (filed.json()["borrower"], filed.json()["duplicate_of"]) == (HOME, rid)
