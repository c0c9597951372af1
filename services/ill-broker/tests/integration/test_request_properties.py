"""Random sequences of actions through the HTTP API, by random parties, never leave a request in an invalid state
and never lose its audit trail.

One broker (SQLite, embedded bus) serves every example; each example files a fresh request and lets Hypothesis
pick who acts and how: the patron, another patron, the borrowing library's staff, the lender asked now, another
institution's staff, or the broker's clock (`fire_due` at a late `now`, 1, 6 or 45 days ahead). Three turns in
four someone who may act now does something the transition table allows (mostly not cancelling or passing the
request on, so examples get deep into the lifecycle); otherwise anyone tries any action with any input. An example
ends two turns after its request did, or after 14 turns.

After every call:
- the answer is 200, 403, 409 or 422 (never a 500), and which one is what the table and the inputs say (a 409
  or 403 carries the table's reason, a 422 names the field);
- the clock fires exactly the timer that was due for the request (`declined` with NoAnswer then `routed` or
  `unfilled`, or `overdue`), or nothing (`due_soon` announcements aside, which change no state);
- a refusal changes nothing: the request row (version included), its audit trail, its events and its rota;
- an accepted action appended exactly the steps it took (its own step, then `routed` or `unfilled` when it moves
  on to the next lender), raised the version by one per step, and the response shows what is stored;
- the stored pair of states is one a request may rest in, every audit step is in VALID_PAIRS, the version is one
  more than the number of audit steps, the outbox holds exactly one `ill.request.<step>` event per audit step that
  has an event type, in order, and only the lender asked now has an open rota entry.
"""

from __future__ import annotations

import asyncio
import itertools
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from broker_fixtures import RESTING_PAIRS, VALID_PAIRS, Broker, broker, item, region
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_ill.domain.codes import CONDITIONS, REASONS_UNFILLED
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.domain.transitions import ACTIONS, Situation, Transition, allowed, find

HOME = "CN-U1-ENG"
HOLDERS = ("CN-U1-MED", "CN-PL", "CN-FAR")
INSTITUTIONS = ("CN-U1", *HOLDERS)
PERSONAS = ("patron", "another patron", "borrower staff", "lender staff", "other staff", "system")
OPEN_ROTA = {"asked", "expecting", "conditional", "supplying"}
TERMINAL = {"completed", "unfilled", "cancelled"}
CLOCK_NOTICES = {"due_soon"}   # steps the clock records without changing any state
ENDING = {"cancel", "reroute", "cannot_supply", "reject_conditions"}
TURNS = 14   # a loan that goes round the rota and comes home takes about a dozen


@dataclass
class Seen:
    """Everything the broker stores about one request."""

    request: dict[str, Any]
    trail: list[dict[str, Any]]
    events: list[str]
    rota: list[dict[str, Any]]

    @property
    def situation(self) -> Situation:
        supplier = self.request["supplier_state"]
        return Situation(R(self.request["requester_state"]), S(supplier) if supplier else None,
                         self.request["service_type"], self.request["renewal_pending"])


@dataclass
class Tally:
    statuses: dict[int, int] = field(default_factory=dict)
    steps: set[str] = field(default_factory=set)


async def observe(b: Broker, rid: str) -> Seen:
    return Seen(await b.stored(rid), await b.trail(rid), await b.events(rid), await b.rota(rid))


def pair_of(requester: str, supplier: str | None) -> tuple[R, S | None]:
    return R(requester), S(supplier) if supplier else None


def check_invariants(seen: Seen) -> None:
    request, trail = seen.request, seen.trail
    assert pair_of(request["requester_state"], request["supplier_state"]) in RESTING_PAIRS, request
    for step in trail:
        assert pair_of(step["requester_state"], step["supplier_state"]) in VALID_PAIRS, step
    last = trail[-1]
    assert (last["requester_state"], last["supplier_state"]) == (request["requester_state"],
                                                                 request["supplier_state"])
    assert request["version"] == len(trail) + 1
    assert seen.events == [f"ill.request.{s['step']}" for s in trail if s["step"] in STEP_EVENTS]
    assert (request["lender"] is None) == (request["supplier_state"] is None)
    assert (request["answer_due_at"] is not None) == (request["supplier_state"] == "new")
    open_entries = [e for e in seen.rota if e["status"] in OPEN_ROTA]
    assert len(open_entries) <= 1, seen.rota
    if request["requester_state"] not in TERMINAL:
        assert [e["lender"] for e in open_entries] == [request["lender"]], seen.rota


def parties_for(persona: str) -> frozenset[Party]:
    return {"patron": frozenset({Party.PATRON}), "borrower staff": frozenset({Party.BORROWER}),
            "lender staff": frozenset({Party.LENDER})}.get(persona, frozenset())


def caller(b: Broker, persona: str, seen: Seen, patron: str, data: st.DataObject) -> tuple[dict[str, str],
                                                                                         frozenset[Party]]:
    lender = seen.request["lender"]
    if persona == "patron":
        return b.patron(HOME, patron), parties_for(persona)
    if persona == "another patron":
        return b.patron(HOME, "neighbour"), frozenset()
    if persona == "borrower staff":
        return b.staff(HOME), parties_for(persona)
    if persona == "lender staff" and lender is not None:
        return b.staff(lender), parties_for(persona)
    others = [code for code in INSTITUTIONS if code != lender]
    return b.staff(data.draw(st.sampled_from(others), label="other institution")), frozenset()


def bodies(seen: Seen, good: bool) -> st.SearchStrategy[dict[str, Any]]:
    """What an action carries: anything (valid in shape), or, to move the request on, what its action needs."""
    today = datetime.now(UTC).date()
    due_date = st.integers(1, 60).map(lambda days: (today + timedelta(days=days)).isoformat())
    if good:
        waiting = sorted(e["lender"] for e in seen.rota if e["status"] == "waiting")
        return st.fixed_dictionaries({
            "reason": st.sampled_from(["NotOnShelf", "Lost", "PolicyProblem"]),
            "conditions": st.builds(dict, code=st.sampled_from(["LoanCondition", "CostExceedsMaxCost"])),
            "delivery": st.just({"url": "https://files.example.org/copy.pdf"}),
            "approve": st.booleans(),
        }, optional={"due_date": due_date, **({"lender": st.sampled_from(waiting)} if waiting else {})})
    return st.fixed_dictionaries({}, optional={
        "reason": st.sampled_from(["NotOnShelf", "Lost", "PolicyProblem", "TooBusy"]),
        "note": st.just("from the property test"),
        "conditions": st.builds(dict, code=st.sampled_from(["LoanCondition", "CostExceedsMaxCost", "Whatever"])),
        "delivery": st.just({"url": "https://files.example.org/copy.pdf"}),
        "due_date": due_date,
        "approve": st.booleans(),
        "lender": st.sampled_from([*HOLDERS, "CN-NOWHERE"]),
    })


def bad_input(t: Transition, body: dict[str, Any], seen: Seen) -> str | None:
    """The field an accepted transition's input gets wrong, as the broker should name it."""
    due = date.fromisoformat(body["due_date"]) if body.get("due_date") else None
    current = seen.request["due_date"]
    if due is not None and current is not None and (
            (t.action == "recall" and due > current) or
            (t.action == "answer_renewal" and body.get("approve") and due <= current)):
        return "due_date"  # a recall only brings the due date forward, a renewal only moves it later
    if "reason" in t.needs and body.get("reason") not in REASONS_UNFILLED:
        return "reason"
    if "conditions" in t.needs and (body.get("conditions") or {}).get("code") not in CONDITIONS:
        return "conditions.code"
    if "delivery" in t.needs and not (body.get("delivery") or {}).get("url"):
        return "delivery.url"
    if "approve" in t.needs and body.get("approve") is None:
        return "approve"
    waiting = {e["lender"] for e in seen.rota if e["status"] == "waiting"}
    if t.action == "reroute" and body.get("lender") is not None and body["lender"] not in waiting:
        return "lender"
    return None


def not_due_yet(t: Transition, seen: Seen) -> bool:
    """Staff marking a loan overdue before its due date has passed: refused."""
    due = seen.request["due_date"]
    return t.action == "mark_overdue" and (due is None or due >= datetime.now(UTC).date())


async def api_turn(b: Broker, rid: str, before: Seen, persona: str, patron: str, action: str | None,
                   data: st.DataObject, tally: Tally) -> Seen:
    """`persona` takes `action` (None: any action at all, allowed or not, with any input)."""
    headers, parties = caller(b, persona, before, patron, data)
    move_on = action is not None
    if action is None:
        action = data.draw(st.sampled_from([*ACTIONS, "teleport"]), label="any action")
    body = data.draw(bodies(before, good=move_on), label="body")
    response = await b.act(rid, action, headers, **body)
    status = response.status_code
    tally.statuses[status] = tally.statuses.get(status, 0) + 1
    assert status in (200, 403, 409, 422), response.text
    after = await observe(b, rid)
    check_invariants(after)

    found = find(action, parties, before.situation) if action in ACTIONS else None
    if action not in ACTIONS:
        expected: int | str = 422
    elif not parties:
        expected = 403
    elif isinstance(found, str):
        expected = 403 if found.startswith("only the") else 409
    else:
        assert isinstance(found, Transition)
        wrong = bad_input(found, body, before)
        expected = 409 if not_due_yet(found, before) else 200 if wrong is None else wrong
    if isinstance(expected, str):
        assert status == 422 and expected in [e["field"] for e in response.json()["errors"]], response.text
    else:
        assert status == expected, (persona, action, body, response.text)
        if parties and isinstance(found, str):
            assert response.json()["detail"] == found

    if status != 200:
        assert after == before, (persona, action, status)
        return after
    assert isinstance(found, Transition)
    assert after.trail[:len(before.trail)] == before.trail
    added = after.trail[len(before.trail):]
    assert (added[0]["step"], added[0]["action"]) == (found.step, action)
    assert Party(added[0]["party"]) in found.parties & parties
    if found.next_lender:
        assert [s["step"] for s in added[1:]] in (["routed"], ["unfilled"]), added
    else:
        assert len(added) == 1, added
    assert after.request["version"] == before.request["version"] + len(added)
    shown = response.json()
    for name in ("requester_state", "supplier_state", "version", "renewal_pending"):
        assert shown[name] == after.request[name], name
    passed_on = parties == {Party.LENDER} and after.request["lender"] != before.request["lender"]
    assert shown["lender"] == (None if passed_on else after.request["lender"])  # who is next: not the decliner's
    tally.steps.update(s["step"] for s in added)
    return after


def due_timer(seen: Seen, late: datetime) -> str | None:
    request = seen.request
    answer_due_at = request["answer_due_at"]
    if answer_due_at is not None and answer_due_at.tzinfo is None:
        answer_due_at = answer_due_at.replace(tzinfo=UTC)
    if request["supplier_state"] in ("new", "expect_to_supply") and answer_due_at and answer_due_at <= late:
        return "no_answer"
    if request["supplier_state"] == "shipped" and request["due_date"] and request["due_date"] < late.date():
        return "mark_overdue"
    return None


async def system_turn(b: Broker, rid: str, before: Seen, data: st.DataObject, tally: Tally) -> Seen:
    late = datetime.now(UTC) + timedelta(days=data.draw(st.sampled_from([1, 6, 45]), label="days later"))
    timer = due_timer(before, late)
    await b.fire_due(late)
    after = await observe(b, rid)
    check_invariants(after)
    if timer is None and len(after.trail) == len(before.trail):
        assert after == before
        return after
    assert after.trail[:len(before.trail)] == before.trail
    added = after.trail[len(before.trail):]
    notices = [s for s in added if s["step"] in CLOCK_NOTICES]
    for notice in notices:   # announcements change no state
        assert notice["party"] == "system" and pair_of(notice["requester_state"], notice["supplier_state"]) == \
            pair_of(before.request["requester_state"], before.request["supplier_state"]), notice
    added = [s for s in added if s["step"] not in CLOCK_NOTICES]
    if timer is None:
        assert added == []
    elif timer == "no_answer":
        assert [s["step"] for s in added] in (["declined", "routed"], ["declined", "unfilled"]), added
        assert (added[0]["party"], added[0]["reason"], added[0]["lender"]) == ("system", "NoAnswer",
                                                                               before.request["lender"])
    else:
        assert [s["step"] for s in added] == ["overdue"]
    assert after.request["version"] == before.request["version"] + len(added) + len(notices)
    tally.steps.update(s["step"] for s in added)
    return after


def options(persona: str, seen: Seen, carry_on: bool) -> list[str]:
    """What `persona` may do now; when the example should carry on, not what ends it or passes it on."""
    choices = allowed(parties_for(persona), seen.situation)
    return [a for a in choices if a not in ENDING] if carry_on else choices


async def play(b: Broker, data: st.DataObject, n: int, tally: Tally) -> None:
    patron = f"reader{n}"
    created = await b.submit(b.patron(HOME, patron), cluster_id=7,
                             service_type=data.draw(st.sampled_from(["loan", "copy", "copy-or-loan"])),
                             service_level=data.draw(st.sampled_from(["normal", "rush"])))
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    seen = await observe(b, rid)
    check_invariants(seen)
    assert [s["step"] for s in seen.trail] == ["submitted", "validated", "sourcing", "routed"]
    after_the_end = 0
    for _ in range(TURNS):
        if seen.request["requester_state"] in TERMINAL:
            after_the_end += 1
            if after_the_end > 2:   # a few tries at an ended request are enough
                break
        # mostly someone who may do something now does it, and rather not cancel or pass the request on (that
        # would end most examples within a few turns), so examples get deep into the lifecycle; otherwise anyone
        # tries anything
        move_on = data.draw(st.sampled_from([True, True, True, False]), label="move on")
        carry_on = data.draw(st.sampled_from([True, True, False]), label="carry on")
        movers = [p for p in PERSONAS if options(p, seen, carry_on)]
        if seen.request["supplier_state"] == "shipped" or (
                not carry_on and seen.request["supplier_state"] in ("new", "expect_to_supply")):
            movers.append("system")
        persona = data.draw(st.sampled_from(movers if move_on and movers else PERSONAS), label="who")
        choices = options(persona, seen, carry_on)
        action = data.draw(st.sampled_from(choices), label="allowed action") \
            if move_on and persona != "system" and choices else None
        if persona == "system":
            seen = await system_turn(b, rid, seen, data, tally)
        else:
            seen = await api_turn(b, rid, seen, persona, patron, action, data, tally)


def test_random_actions_by_random_parties_never_break_a_request_or_its_trail(tmp_path: Path) -> None:
    tally = Tally()
    numbers = itertools.count()
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        b = runner.run(stack.enter_async_context(broker(tmp_path)))
        try:
            runner.run(b.add_institutions(region()))
            runner.run(b.add_holdings([item(code, f"{code}-1", 7) for code in HOLDERS]))

            @settings(max_examples=25, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(st.data())
            def scenario(data: st.DataObject) -> None:
                runner.run(play(b, data, next(numbers), tally))

            scenario()
        finally:
            runner.run(stack.aclose())
    # the run exercised both accepted actions and refusals, not just one kind of answer
    assert tally.statuses.get(200) and tally.statuses.get(403) and tally.statuses.get(409), tally
