"""`/ill/requests/{id}/delivery`: a copy delivered as a file.

`POST` (the lender asked now, `ill:lend`): the body is the file (its `Content-Type`, `?filename=`), streamed
under `ILL_DELIVERY_MAX_BYTES`; it completes the request as `deliver_copy` does with a URL. `GET` (the patron and
the borrowing library's staff): the file; `HEAD`: its headers, without reading the file.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from bibliomesh_ill.adapters.tables import delivered_files
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.entrypoints.api.routes.requests import request_view
from bibliomesh_ill.entrypoints.api.schemas import RequestView
from bibliomesh_ill.service_layer.actions import ActionInput, load_for, perform
from meshkit.head import answering_head
from meshkit.problems import Forbidden, InvalidField, NotFound, Problem
from meshkit.web import CurrentPrincipal, UnitOfWorkDep, get_runtime

router = APIRouter(prefix="/ill", tags=["requests"])
_SAFE_NAME = re.compile(r"[^\w.\- ]+")
RequestId = Annotated[str, Path(max_length=40)]


async def _read(http: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in http.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(f"the file is larger than {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/requests/{request_id}/delivery", response_model=RequestView,
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {
                 "type": "string", "format": "binary"}}}, "required": True}},
             summary="Deliver a copy as a file (the lender asked now, `ill:lend`).")
async def upload(request_id: RequestId, http: Request, uow: UnitOfWorkDep, caller: CurrentPrincipal,
                 filename: Annotated[str, Query(min_length=1, max_length=200)]) -> RequestView:
    name = _SAFE_NAME.sub("_", re.split(r"[/\\]", filename)[-1]).strip(" .") or "copy"
    content = await _read(http, get_runtime(http).settings.delivery_max_bytes)  # type: ignore[attr-defined]
    if not content:
        raise InvalidField("body", "the file is empty")
    digest = hashlib.sha256(content).hexdigest()
    delivery = {"file": name, "size": len(content), "sha256": digest}
    request = await perform(uow, caller, request_id, "deliver_copy", ActionInput(delivery=delivery))
    await uow.session.execute(sa.insert(delivered_files).values(
        request_id=request_id, filename=name, media_type=http.headers.get("content-type", "application/octet-stream")
        [:100], size=len(content), sha256=digest, content=content, uploaded_at=datetime.now(UTC)))
    await uow.commit()
    return await request_view(uow, request, caller)


@router.get("/requests/{request_id}/delivery", response_class=Response,
            summary="The delivered file (the request's patron and the borrowing library's staff).")
async def download(request_id: RequestId, http: Request, uow: UnitOfWorkDep, caller: CurrentPrincipal) -> Response:
    _, parties = await load_for(uow, caller, request_id)
    if not parties & {Party.PATRON, Party.BORROWER}:
        raise Forbidden("only the patron and the borrowing library may download the copy")
    head = answering_head(http)  # a HEAD gets the headers from the stored size, the file itself left unread
    columns = [column for column in delivered_files.c if not (head and column.name == "content")]
    row = (await uow.session.execute(sa.select(*columns).where(
        delivered_files.c.request_id == request_id))).first()
    if row is None:
        raise NotFound(f"no file was delivered for request {request_id}")
    headers = {"Content-Disposition": f'attachment; filename="{row.filename}"', "X-Content-SHA256": row.sha256,
               "X-Content-Type-Options": "nosniff"}
    if head:
        return Response(media_type=row.media_type, headers={**headers, "Content-Length": str(row.size)})
    return Response(row.content, media_type=row.media_type, headers=headers)
