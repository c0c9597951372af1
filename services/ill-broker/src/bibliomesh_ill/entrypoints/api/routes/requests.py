"""`/ill/requests`: submit, follow and act on interlibrary-loan requests.

Who may call: `ill:request` to submit and follow one's own requests (patrons), `ill:manage` for staff of the
borrowing institution (its requests, on behalf of patrons), `ill:lend` for staff of the lender currently asked.
What each caller may do to one request comes from the transition table and is listed in `allowed_actions`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.parties import Party, parties_of
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState
from bibliomesh_ill.domain.transitions import ACTIONS, allowed
from bibliomesh_ill.entrypoints.api.schemas import ActionBody, RequestCreate, RequestView
from bibliomesh_ill.service_layer.actions import ActionInput, load_for, perform
from bibliomesh_ill.service_layer.submit import RequestInput, submit_request
from meshkit.problems import Forbidden
from meshkit.security import Principal
from meshkit.web import MAX_ID, CurrentPrincipal, UnitOfWorkDep, get_runtime, require_scope

router = APIRouter(prefix="/ill", tags=["requests"])
ActionName = Literal[ACTIONS]  # type: ignore[valid-type]
PATRON_ACTOR = "patron"  # a step's actor as a lender sees it when the borrowing library's patron acted


async def request_view(uow: UnitOfWorkDep, request: IllRequest, caller: Principal) -> RequestView:
    """The request as `caller` may see it now (after an action the caller may no longer be a party). Who the patron
    is stays the borrowing library's business: a lender sees neither the patron's id nor it as a step's actor."""
    parties = parties_of(caller, borrower=request.borrower, lender=request.lender, patron_id=request.patron_id)
    repository = RequestRepository(uow.session)
    staff = bool(parties & {Party.BORROWER, Party.LENDER})
    rota = await repository.rota(request.id) if Party.BORROWER in parties else None
    steps = await repository.steps(request.id) if staff or Party.PATRON in parties else []
    columns = request.columns()
    if not parties:  # a lender that just declined or passed it on: who is asked next is not its business
        columns.update(lender=None, rota_position=None, answer_due_at=None)
    if not parties & {Party.BORROWER, Party.PATRON} and request.patron_id:
        columns["patron_id"] = None
        steps = [{**s, "actor": PATRON_ACTOR} if s["actor"] == request.patron_id else s for s in steps]
    return RequestView(**columns, allowed_actions=allowed(parties, request.situation()), rota=rota, steps=steps)


@router.post("/requests", status_code=201, response_model=RequestView,
             summary="Submit a request for a cluster or a citation (`ill:request`; for the caller's institution).")
async def create(body: RequestCreate, http: Request, uow: UnitOfWorkDep,
                 caller: Principal = require_scope("ill:request")) -> RequestView:
    given = RequestInput(**body.model_dump(exclude={"citation", "max_cost"}),
                         citation=body.citation.model_dump(exclude_none=True),
                         max_cost=body.max_cost.model_dump(mode="json") if body.max_cost else None)
    request = await submit_request(uow, caller, given, get_runtime(http).settings)  # type: ignore[arg-type]
    await uow.commit()
    return await request_view(uow, request, caller)


@router.get("/requests", response_model=list[RequestView],
            summary="Requests the caller may see: patrons their own, borrowing staff their institution's "
                    "(`ill:manage`), lending staff those their institution is asked for (`ill:lend`).")
async def listing(uow: UnitOfWorkDep, caller: CurrentPrincipal,
                  side: Annotated[Literal["borrowing", "lending", "mine"], Query()] = "mine",
                  state: Annotated[list[RequesterState] | None,
                                   Query(description="Borrowing-side states (any of them).")] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> list[RequestView]:
    repository = RequestRepository(uow.session)
    if side == "borrowing":
        caller.require_scope("ill:manage")
        found = await repository.listing(borrower=caller.institution, states=state or (), limit=limit, offset=offset)
    elif side == "lending":
        caller.require_scope("ill:lend")
        found = await repository.listing(lender=caller.institution, states=state or (), limit=limit, offset=offset)
    else:
        caller.require_scope("ill:request")
        found = await repository.listing(borrower=caller.institution, patron_id=caller.subject, states=state or (),
                                         limit=limit, offset=offset)
    return [await request_view(uow, request, caller) for request in found]


@router.get("/requests/{request_id}", response_model=RequestView,
            summary="A request, what the caller may do next, its rota (borrowing staff) and its audit trail "
                    "(its patron, borrowing staff, the lender asked now).")
async def show(request_id: Annotated[str, Path(max_length=40)], uow: UnitOfWorkDep,
               caller: CurrentPrincipal) -> RequestView:
    request, _ = await load_for(uow, caller, request_id)
    return await request_view(uow, request, caller)


@router.post("/requests/{request_id}/actions/{action}", response_model=RequestView,
             responses={409: {"description": "Not allowed in the request's current state; the detail says why."}},
             summary="Take an action (the party it belongs to only; see `allowed_actions`).")
async def act(request_id: Annotated[str, Path(max_length=40)], action: ActionName, uow: UnitOfWorkDep,
              caller: CurrentPrincipal, body: ActionBody | None = None) -> RequestView:
    if not (caller.scopes & {"ill:request", "ill:lend", "ill:manage"}):
        raise Forbidden("acting on a request needs `ill:request`, `ill:lend` or `ill:manage`")
    body = body or ActionBody()
    given = ActionInput(reason=body.reason, note=body.note, due_date=body.due_date, approve=body.approve,
                        lender=body.lender,
                        conditions=body.conditions.model_dump(mode="json") if body.conditions else None,
                        delivery=body.delivery.model_dump(mode="json") if body.delivery else None)
    request = await perform(uow, caller, request_id, action, given)
    await uow.commit()
    return await request_view(uow, request, caller)
