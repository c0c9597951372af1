"""The declared transition table on its own: whatever sequence of actions any mix of parties tries, a request only
ever rests in a valid pair of states, terminal states allow nothing, and `allowed` answers exactly as `find` does.

The model below applies a transition the way `service_layer.actions` does: the table's target states, plus the
two things the service layer adds (asking the next lender, and an approved renewal taking an overdue loan back to
checked out).
"""

from __future__ import annotations

from collections import deque

from broker_fixtures import PASSING_PAIRS, RESTING_PAIRS, VALID_PAIRS
from hypothesis import given, settings
from hypothesis import strategies as st

from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.states import TERMINAL_REQUESTER
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.domain.transitions import ACTIONS, TRANSITIONS, Situation, Transition, allowed, find

EVERYONE = frozenset(Party)
SERVICE_TYPES = ("loan", "copy", "copy-or-loan")
L, B, P, SYS = Party.LENDER, Party.BORROWER, Party.PATRON, Party.SYSTEM


def take(s: Situation, t: Transition, *, lender_left: bool, approve: bool) -> list[Situation]:
    """The situations a request passes through when `t` is taken; the last one is where it rests."""
    requester = t.requester_to if t.requester_to is not None else s.requester
    supplier = t.supplier_to if t.supplier_to is not None else s.supplier
    renewal = {"request_renewal": True, "answer_renewal": False}.get(t.action, s.renewal_pending)
    if t.action == "answer_renewal" and approve and s.requester is R.OVERDUE:
        requester, supplier = R.CHECKED_OUT, S.SHIPPED
    after = Situation(requester, supplier, s.service_type, renewal)
    if not t.next_lender:
        return [after]
    asked = Situation(R.SENT_TO_SUPPLIER, S.NEW, s.service_type) if lender_left else \
        Situation(R.UNFILLED, None, s.service_type)
    return [after, asked]


def first_lender_asked(service_type: str) -> Situation:
    return Situation(R.SENT_TO_SUPPLIER, S.NEW, service_type)


def pair(s: Situation) -> tuple[R, S | None]:
    return s.requester, s.supplier


parties = st.frozensets(st.sampled_from(list(Party)))
situations = st.builds(Situation, st.sampled_from(list(R)), st.sampled_from([None, *S]),
                       st.sampled_from(SERVICE_TYPES), st.booleans())


@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(SERVICE_TYPES), st.data())
def test_random_actions_by_random_parties_keep_the_request_in_valid_states(service_type: str,
                                                                           data: st.DataObject) -> None:
    s = first_lender_asked(service_type)
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        who = data.draw(parties, label="parties")
        # half the time something this caller may do now (to get deep into the lifecycle), else anything at all
        choices = allowed(who, s)
        pick_allowed = data.draw(st.booleans(), label="pick an allowed action")
        if choices and pick_allowed:
            action = data.draw(st.sampled_from(choices), label="allowed action")
        else:
            action = data.draw(st.sampled_from([*ACTIONS, "teleport"]), label="any action")
        found = find(action, who, s)
        if isinstance(found, str):
            assert action not in allowed(who, s)
            assert found.startswith(("only the", "cannot", "unknown action", "a ", "no renewal")), found
            continue
        assert found.action == action and found.parties & who
        assert s.requester in found.requester_from and s.supplier in found.supplier_from
        assert found.guard is None or found.guard(s) is None
        assert s.requester not in TERMINAL_REQUESTER
        passed = take(s, found, lender_left=data.draw(st.booleans(), label="a lender is left"),
                      approve=data.draw(st.booleans(), label="renewal approved"))
        for step in passed:
            assert isinstance(step.requester, R) and (step.supplier is None or isinstance(step.supplier, S))
            assert pair(step) in VALID_PAIRS, (action, pair(s), pair(step))
        s = passed[-1]
        assert pair(s) in RESTING_PAIRS, (action, pair(s))
        if s.requester in TERMINAL_REQUESTER:
            assert allowed(EVERYONE, s) == []


@settings(max_examples=500, deadline=None, database=None)
@given(parties, situations)
def test_allowed_lists_exactly_the_actions_find_accepts(who: frozenset[Party], s: Situation) -> None:
    accepted = [a for a in ACTIONS if isinstance(find(a, who, s), Transition)]
    assert allowed(who, s) == accepted


def test_terminal_states_allow_nothing_to_anyone() -> None:
    for requester in TERMINAL_REQUESTER:
        for supplier in [None, *S]:
            for service_type in SERVICE_TYPES:
                for renewal in (False, True):
                    s = Situation(requester, supplier, service_type, renewal)
                    assert allowed(EVERYONE, s) == []
                    for action in ACTIONS:
                        assert isinstance(find(action, EVERYONE, s), str)


def test_the_table_reaches_exactly_the_written_down_pairs() -> None:
    """Explore every situation reachable from a new request (both outcomes of asking the next lender and of a
    renewal answer): the pairs seen are exactly RESTING_PAIRS plus PASSING_PAIRS."""
    start = [Situation(R.SOURCING, None, t) for t in SERVICE_TYPES]
    seen: set[Situation] = set()
    resting: set[tuple[R, S | None]] = set()
    passing: set[tuple[R, S | None]] = {(R.SUBMITTED, None), (R.VALIDATED, None), (R.SOURCING, None)}
    queue = deque(s for t in SERVICE_TYPES for s in (first_lender_asked(t), Situation(R.UNFILLED, None, t)))
    for s in start:  # a request may be cancelled while it is still sourcing (inside submit)
        for t in TRANSITIONS:
            if isinstance(find(t.action, EVERYONE, s), Transition):
                queue.append(Situation(t.requester_to or s.requester, t.supplier_to, s.service_type))
    while queue:
        s = queue.popleft()
        if s in seen:
            continue
        seen.add(s)
        resting.add(pair(s))
        for action in ACTIONS:
            found = find(action, EVERYONE, s)
            if isinstance(found, str):
                continue
            for lender_left in (False, True):
                for approve in (False, True):
                    *between, rest = take(s, found, lender_left=lender_left, approve=approve)
                    passing.update(pair(b) for b in between)
                    queue.append(rest)
    assert resting == RESTING_PAIRS
    assert passing - resting == PASSING_PAIRS


def test_every_transition_lands_in_declared_states_and_starts_outside_terminal_ones() -> None:
    for t in TRANSITIONS:
        assert t.requester_to is None or t.requester_to in R
        assert t.supplier_to is None or t.supplier_to in S
        assert not t.requester_from & TERMINAL_REQUESTER, t.action
        assert t.parties, t.action
        if t.next_lender:
            assert t.supplier_to in (S.CANNOT_SUPPLY, S.CANCELLED), t.action


def test_refusals_say_who_may_and_why_not_now() -> None:
    will_supply = Situation(R.WILL_SUPPLY, S.AWAITING_SHIP, "loan")
    assert find("ship", frozenset({B}), will_supply) == "only the lender may ship"
    assert find("ship", frozenset({L}), first_lender_asked("loan")) == \
        "cannot ship while the request is sent_to_supplier (lender side: new)"
    assert find("ship", frozenset({L}), Situation(R.WILL_SUPPLY, S.AWAITING_SHIP, "copy")) == \
        "a copy request cannot be shipped as a loan"
    assert find("receive", frozenset({B}), will_supply) == \
        "cannot receive while the request is will_supply (lender side: awaiting_ship)"
    assert find("cancel", frozenset({L}), will_supply) == "only the borrower or patron may cancel"
    assert find("answer_renewal", frozenset({L}), Situation(R.CHECKED_OUT, S.SHIPPED, "loan")) == \
        "no renewal has been requested"
    assert find("fly", EVERYONE, will_supply) == "unknown action 'fly'"


def test_who_may_do_what_while_a_lender_is_deciding() -> None:
    asked = first_lender_asked("loan")
    assert allowed(frozenset({L}), asked) == ["expect_to_supply", "will_supply", "conditional", "cannot_supply"]
    assert allowed(frozenset({B}), asked) == ["cancel", "reroute"]
    assert allowed(frozenset({P}), asked) == ["cancel"]
    assert allowed(frozenset({SYS}), asked) == ["no_answer"]
    assert allowed(frozenset(), asked) == []
    # cancelling once the lender committed only asks the lender; the lender decides
    committed = find("cancel", frozenset({P}), Situation(R.WILL_SUPPLY, S.AWAITING_SHIP, "loan"))
    at_once = find("cancel", frozenset({P}), asked)
    assert isinstance(committed, Transition) and committed.step == "cancel_requested"
    assert isinstance(at_once, Transition) and at_once.step == "cancelled"
