"""The broker's clock: a lender that lets its answer time pass is skipped, a loan past its due date becomes
overdue, exactly once even with two replicas, and deadlines kept in the database survive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broker_fixtures import broker, item, region

from tests.support.infra import postgres_database

LATE = timedelta(days=10)  # past any answer deadline of the default policy (48 working hours)


@pytest.mark.integration
async def test_two_replicas_fire_a_due_timer_exactly_once(tmp_path: Path) -> None:
    async with postgres_database("bm_ill_timers") as url, \
            broker(tmp_path / "one", database_url=url) as one, broker(tmp_path / "two", database_url=url) as two:
        await one.add_institutions(region())
        await one.add_holdings([item(code, f"{code}-1", 5) for code in ("CN-U1-MED", "CN-PL", "CN-FAR")])
        ids = []
        for n in range(10):
            created = await one.submit(one.patron("CN-U1-ENG", f"reader{n}"), cluster_id=5)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])

        late = datetime.now(UTC) + LATE
        fired = await asyncio.gather(one.fire_due(late), two.fire_due(late))

        assert sum(fired) == len(ids)
        for rid in ids:
            assert await one.steps(rid) == ["submitted", "validated", "sourcing", "routed", "declined", "routed"]
            stored = await two.stored(rid)
            assert (stored["lender"], stored["requester_state"], stored["supplier_state"]) == (
                "CN-PL", "sent_to_supplier", "new")
            assert [(e["lender"], e["status"]) for e in await one.rota(rid)] == [
                ("CN-U1-MED", "no_answer"), ("CN-PL", "asked"), ("CN-FAR", "waiting")]
        assert sum(await asyncio.gather(one.fire_due(late), two.fire_due(late))) == 0   # nothing left to fire


def pause_before_firing(runtime: Any, listed: asyncio.Event, go: asyncio.Event) -> None:
    """Hold a replica between reading the list of due timers and firing the first one: the moment another
    replica, or a lender's answer, may change the request."""
    original = runtime.unit_of_work
    opened = 0

    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[Any]:
        nonlocal opened
        opened += 1
        if opened == 2:
            listed.set()
            await go.wait()
        async with original() as uow:
            yield uow

    runtime.unit_of_work = unit_of_work


@pytest.mark.integration
async def test_a_replica_that_read_the_due_list_before_another_fired_does_not_fire_again(tmp_path: Path) -> None:
    async with postgres_database("bm_ill_timers") as url, \
            broker(tmp_path / "one", database_url=url) as one, broker(tmp_path / "two", database_url=url) as two:
        await one.add_institutions(region())
        await one.add_holdings([item(code, f"{code}-1", 5) for code in ("CN-U1-MED", "CN-PL", "CN-FAR")])
        rid = (await one.submit(one.patron("CN-U1-ENG"), cluster_id=5)).json()["id"]
        late = datetime.now(UTC) + LATE
        listed, go = asyncio.Event(), asyncio.Event()
        pause_before_firing(two.runtime, listed, go)

        behind = asyncio.create_task(two.fire_due(late))
        await asyncio.wait_for(listed.wait(), 10)
        assert await one.fire_due(late) == 1
        go.set()
        assert await behind == 0

        assert await one.steps(rid) == ["submitted", "validated", "sourcing", "routed", "declined", "routed"]
        assert (await one.stored(rid))["lender"] == "CN-PL"


async def test_deadlines_survive_a_restart(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 5), item("CN-PL", "p1", 5)])
        created = await b.submit(b.patron("CN-U1-ENG"), cluster_id=5)
        rid = created.json()["id"]
        answer_due_at = created.json()["answer_due_at"]
        assert answer_due_at is not None

    async with broker(tmp_path) as b:
        assert await b.fire_due(datetime.now(UTC)) == 0
        assert await b.fire_due(datetime.now(UTC) + LATE) == 1
        view = (await b.view(rid, b.staff("CN-U1-ENG"))).json()
        assert (view["lender"], view["requester_state"]) == ("CN-PL", "sent_to_supplier")
        declined = next(s for s in view["steps"] if s["step"] == "declined")
        assert (declined["party"], declined["actor"], declined["reason"], declined["lender"]) == (
            "system", "system", "NoAnswer", "CN-U1-MED")
        assert next(e for e in view["rota"] if e["lender"] == "CN-U1-MED")["status"] == "no_answer"


async def test_a_timer_that_finds_the_lender_has_answered_does_nothing(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 5), item("CN-PL", "p1", 5)])
        rid = (await b.submit(b.patron("CN-U1-ENG"), cluster_id=5)).json()["id"]
        assert (await b.act(rid, "will_supply", b.staff("CN-U1-MED"))).status_code == 200
        assert await b.fire_due(datetime.now(UTC) + LATE) == 0
        assert (await b.stored(rid))["supplier_state"] == "awaiting_ship"


async def test_when_every_lender_lets_the_time_pass_the_request_ends_unfilled(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 5), item("CN-PL", "p1", 5)])
        rid = (await b.submit(b.patron("CN-U1-ENG"), cluster_id=5, service_level="rush")).json()["id"]
        now = datetime.now(UTC)
        assert await b.fire_due(now + LATE) == 1
        assert (await b.stored(rid))["lender"] == "CN-PL"
        assert await b.fire_due(now + LATE) == 0           # the next lender's time counts from when it was asked
        assert await b.fire_due(now + 2 * LATE) == 1
        assert await b.steps(rid) == ["submitted", "validated", "sourcing", "routed", "declined", "routed",
                                      "declined", "unfilled"]
        stored = await b.stored(rid)
        assert (stored["requester_state"], stored["supplier_state"], stored["lender"]) == ("unfilled", None, None)
        assert (await b.events(rid))[-1] == "ill.request.unfilled"


async def test_a_loan_past_its_due_date_becomes_overdue_once(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 5)])
        rid = (await b.submit(b.patron("CN-U1-ENG"), cluster_id=5)).json()["id"]
        lender, home = b.staff("CN-U1-MED"), b.staff("CN-U1-ENG")
        await b.act(rid, "will_supply", lender)
        due = datetime.now(UTC).date() + timedelta(days=14)
        shipped = await b.act(rid, "ship", lender, due_date=due.isoformat())
        assert shipped.json()["due_date"] == due.isoformat()
        await b.act(rid, "receive", home)
        await b.act(rid, "check_out", home)

        on_due_day = datetime.combine(due, datetime.min.time(), UTC) + timedelta(hours=12)
        await b.fire_due(on_due_day)
        assert "overdue" not in await b.steps(rid)
        await b.fire_due(on_due_day + timedelta(days=1))
        await b.fire_due(on_due_day + timedelta(days=2))
        assert (await b.steps(rid)).count("overdue") == 1
        stored = await b.stored(rid)
        assert (stored["requester_state"], stored["supplier_state"]) == ("overdue", "overdue")
        assert (await b.steps(rid))[-1] == "overdue"
        assert (await b.events(rid))[-1] == "ill.request.overdue"
        assert "request_renewal" in (await b.view(rid, home)).json()["allowed_actions"]
