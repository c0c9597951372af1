"""`/ill/requests/{id}/peer-messages`: the request's ISO 18626 messages to peers outside the platform, and what
staff can do about one the peer refused or never took (it holds back the later ones to that peer).

Who may call: staff with `ill:manage` of the institution the messages are sent on behalf of (the borrowing library
to an outside lender, the lender to an outside borrower), and platform admins; patrons and other institutions get
403, as for the request itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from bibliomesh_ill.entrypoints.api.schemas import PeerMessageView
from bibliomesh_ill.service_layer.peers import staff
from meshkit.security import Principal
from meshkit.web import RowId, UnitOfWorkDep, require_scope

router = APIRouter(prefix="/ill", tags=["requests"])
RequestId = Annotated[str, Path(max_length=40)]
NOT_FAILED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The message is not failed (pending, sent or dropped); the detail says which."}}


@router.get("/requests/{request_id}/peer-messages", response_model=list[PeerMessageView],
            summary="The request's ISO 18626 messages to peers, oldest first, and which failed one holds back the "
                    "others (`ill:manage` of the institution they are sent for; platform admins).")
async def listing(request_id: RequestId, uow: UnitOfWorkDep,
                  caller: Principal = require_scope("ill:manage")) -> list[PeerMessageView]:
    return [PeerMessageView(**row) for row in await staff.peer_messages(uow, caller, request_id)]


@router.post("/requests/{request_id}/peer-messages/{message_id}/redeliver", response_model=PeerMessageView,
             responses=NOT_FAILED,
             summary="Send a failed message again, before the ones it holds back (`ill:manage` of the institution "
                     "it is sent for; platform admins).")
async def redeliver(request_id: RequestId, message_id: RowId, uow: UnitOfWorkDep,
                    caller: Principal = require_scope("ill:manage")) -> PeerMessageView:
    settled = await staff.redeliver(uow, caller, request_id, message_id)
    await uow.commit()
    return PeerMessageView(**settled)


@router.post("/requests/{request_id}/peer-messages/{message_id}/drop", response_model=PeerMessageView,
             responses=NOT_FAILED,
             summary="Give up a failed message for good, so the ones it holds back go (`ill:manage` of the "
                     "institution it is sent for; platform admins).")
async def drop(request_id: RequestId, message_id: RowId, uow: UnitOfWorkDep,
               caller: Principal = require_scope("ill:manage")) -> PeerMessageView:
    settled = await staff.drop(uow, caller, request_id, message_id)
    await uow.commit()
    return PeerMessageView(**settled)
