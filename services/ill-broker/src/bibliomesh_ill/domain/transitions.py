"""The declared transition table of a request: which party may do what, from which states, to which states.

`allowed` and `refusal` answer from the same table both "what may this caller do next" (shown on `GET`) and
"why not" (the 409 for an action that is not allowed now), so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S


@dataclass(frozen=True)
class Situation:
    """What the table looks at: both states and the few facts guards need."""

    requester: R
    supplier: S | None
    service_type: str
    renewal_pending: bool = False


Guard = Callable[[Situation], str | None]


@dataclass(frozen=True)
class Transition:
    action: str
    parties: frozenset[Party]
    requester_from: frozenset[R]
    supplier_from: frozenset[S | None]
    requester_to: R | None
    supplier_to: S | None
    step: str
    next_lender: bool = False        # after it, the broker asks the next lender on the rota
    guard: Guard | None = None
    needs: tuple[str, ...] = field(default=())   # input fields the action requires


def _loans(s: Situation) -> str | None:
    return None if s.service_type in ("loan", "copy-or-loan") else "a copy request cannot be shipped as a loan"


def _copies(s: Situation) -> str | None:
    return None if s.service_type in ("copy", "copy-or-loan") else "a loan request cannot be answered with a copy"


def _renewal_not_pending(s: Situation) -> str | None:
    return "a renewal is already waiting for the lender's answer" if s.renewal_pending else None


def _renewal_pending(s: Situation) -> str | None:
    return None if s.renewal_pending else "no renewal has been requested"


L, B, P, SYS = Party.LENDER, Party.BORROWER, Party.PATRON, Party.SYSTEM
ANSWERING = frozenset({S.NEW, S.EXPECT_TO_SUPPLY})
ASKED = frozenset({R.SENT_TO_SUPPLIER, R.EXPECTS_TO_SUPPLY})
ON_LOAN_SUPPLIER = frozenset({S.SHIPPED, S.OVERDUE, S.RECALLED})
AT_BORROWER = frozenset({R.SHIPPED, R.RECEIVED, R.CHECKED_OUT, R.OVERDUE, R.RECALLED})


def _t(action: str, parties: set[Party], req_from: set[R], sup_from: set[S | None], req_to: R | None,
       sup_to: S | None, step: str, **options: object) -> Transition:
    return Transition(action, frozenset(parties), frozenset(req_from), frozenset(sup_from), req_to, sup_to, step,
                      **options)  # type: ignore[arg-type]


TRANSITIONS: tuple[Transition, ...] = (
    # the lender answers
    _t("expect_to_supply", {L}, {R.SENT_TO_SUPPLIER}, {S.NEW}, R.EXPECTS_TO_SUPPLY, S.EXPECT_TO_SUPPLY, "expected"),
    _t("will_supply", {L}, set(ASKED), set(ANSWERING), R.WILL_SUPPLY, S.AWAITING_SHIP, "will_supply"),
    _t("conditional", {L}, set(ASKED), set(ANSWERING), R.CONDITIONAL_ANSWER, S.CONDITIONAL, "conditional",
       needs=("conditions",)),
    _t("cannot_supply", {L}, {*ASKED, R.CONDITIONAL_ANSWER, R.WILL_SUPPLY},
       {*ANSWERING, S.CONDITIONAL, S.AWAITING_SHIP}, None, S.CANNOT_SUPPLY, "declined", next_lender=True,
       needs=("reason",)),
    _t("no_answer", {SYS}, set(ASKED), set(ANSWERING), None, S.CANNOT_SUPPLY, "declined", next_lender=True),
    # the borrower answers conditions
    _t("accept_conditions", {B}, {R.CONDITIONAL_ANSWER}, {S.CONDITIONAL}, R.WILL_SUPPLY, S.AWAITING_SHIP,
       "conditions_accepted"),
    _t("reject_conditions", {B}, {R.CONDITIONAL_ANSWER}, {S.CONDITIONAL}, None, S.CANCELLED,
       "conditions_rejected", next_lender=True),
    # delivery
    _t("ship", {L}, {R.WILL_SUPPLY}, {S.AWAITING_SHIP}, R.SHIPPED, S.SHIPPED, "shipped", guard=_loans),
    _t("deliver_copy", {L}, {R.WILL_SUPPLY}, {S.AWAITING_SHIP}, R.COMPLETED, S.COPY_DELIVERED, "copy_delivered",
       guard=_copies, needs=("delivery",)),
    _t("receive", {B}, {R.SHIPPED}, set(ON_LOAN_SUPPLIER), R.RECEIVED, None, "received"),
    _t("check_out", {B}, {R.RECEIVED}, set(ON_LOAN_SUPPLIER), R.CHECKED_OUT, None, "checked_out"),
    _t("return_item", {B}, set(AT_BORROWER - {R.SHIPPED}), set(ON_LOAN_SUPPLIER), R.RETURNED, S.RETURN_SHIPPED,
       "returned"),
    _t("check_in", {L}, {*AT_BORROWER, R.RETURNED}, {*ON_LOAN_SUPPLIER, S.RETURN_SHIPPED}, R.COMPLETED,
       S.COMPLETED, "completed"),
    # time and the lender's claims on its item
    _t("mark_overdue", {L, SYS}, {R.RECEIVED, R.CHECKED_OUT}, {S.SHIPPED}, R.OVERDUE, S.OVERDUE, "overdue"),
    # still in transit: the lender's side says so, the borrower can still receive it (and must return it)
    _t("mark_overdue", {L, SYS}, {R.SHIPPED}, {S.SHIPPED}, None, S.OVERDUE, "overdue"),
    _t("recall", {L}, {R.RECEIVED, R.CHECKED_OUT, R.OVERDUE}, {S.SHIPPED, S.OVERDUE}, R.RECALLED, S.RECALLED,
       "recalled"),
    _t("recall", {L}, {R.SHIPPED}, {S.SHIPPED, S.OVERDUE}, None, S.RECALLED, "recalled"),
    _t("request_renewal", {B}, {R.RECEIVED, R.CHECKED_OUT, R.OVERDUE}, {S.SHIPPED, S.OVERDUE}, None, None,
       "renewal_requested", guard=_renewal_not_pending),
    _t("answer_renewal", {L}, {R.RECEIVED, R.CHECKED_OUT, R.OVERDUE}, {S.SHIPPED, S.OVERDUE}, None, None,
       "renewal_answered", guard=_renewal_pending, needs=("approve",)),
    # cancelling: at once while the lender has not committed, by asking once it has
    _t("cancel", {P, B}, {R.SUBMITTED, R.VALIDATED, R.SOURCING, *ASKED, R.CONDITIONAL_ANSWER},
       {None, *ANSWERING, S.CONDITIONAL}, R.CANCELLED, S.CANCELLED, "cancelled"),
    _t("cancel", {P, B}, {R.WILL_SUPPLY}, {S.AWAITING_SHIP}, R.CANCEL_PENDING, S.CANCEL_REQUESTED,
       "cancel_requested"),
    _t("accept_cancel", {L}, {R.CANCEL_PENDING}, {S.CANCEL_REQUESTED}, R.CANCELLED, S.CANCELLED, "cancelled"),
    _t("refuse_cancel", {L}, {R.CANCEL_PENDING}, {S.CANCEL_REQUESTED}, R.WILL_SUPPLY, S.AWAITING_SHIP,
       "cancel_refused"),
    # staff move the request on by hand
    _t("reroute", {B}, {*ASKED, R.CONDITIONAL_ANSWER}, {*ANSWERING, S.CONDITIONAL}, None, S.CANCELLED, "declined",
       next_lender=True),
)

ACTIONS = tuple(dict.fromkeys(t.action for t in TRANSITIONS))


def _refusal(t: Transition, parties: frozenset[Party], s: Situation) -> str | None:
    if not t.parties & parties:
        return f"only the {' or '.join(sorted(p.value for p in t.parties))} may {t.action.replace('_', ' ')}"
    if s.requester not in t.requester_from or s.supplier not in t.supplier_from:
        supplier = s.supplier.value if s.supplier else "none"
        return (f"cannot {t.action.replace('_', ' ')} while the request is {s.requester.value} "
                f"(lender side: {supplier})")
    return t.guard(s) if t.guard else None


def find(action: str, parties: frozenset[Party], s: Situation) -> Transition | str:
    """The transition `action` takes now for a caller playing `parties`, or why it is not allowed."""
    candidates = [t for t in TRANSITIONS if t.action == action]
    if not candidates:
        return f"unknown action {action!r}"
    reasons = []
    for t in candidates:
        reason = _refusal(t, parties, s)
        if reason is None:
            return t
        reasons.append(reason)
    return min(reasons, key=lambda r: r.startswith("only"))


def allowed(parties: frozenset[Party], s: Situation) -> list[str]:
    """The actions a caller playing `parties` may take now, in table order."""
    return list(dict.fromkeys(t.action for t in TRANSITIONS if _refusal(t, parties, s) is None))
