"""`GET|POST /catalog/sru`: SRU 1.2 and 2.0 (explain, searchRetrieve with CQL) for library systems and ILL peers."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response

from bibliomesh_catalog.service_layer.sru import handle_sru
from meshkit.problems import Problem
from meshkit.web import UnitOfWorkDep, get_runtime

router = APIRouter(prefix="/catalog", tags=["sru"])
FORM = "application/x-www-form-urlencoded"  # the SRU POST binding's only body (no multipart uploads to spool)

_DESCRIPTION = (
    "Parameters as in SRU: `version` (2.0 by default, or 1.2), `operation` (1.2), `query` (CQL), `startRecord`, "
    "`maximumRecords` (at most 100), `recordSchema` (`marcxml` or `dc`), `recordPacking`/`recordXMLEscaping` (`xml` "
    "or `string`). Errors come back as SRU diagnostics in a 200 response.")
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/xml": {}}, "description": "An SRU response document."}}


async def _answer(request: Request, uow: UnitOfWorkDep, params: Mapping[str, str]) -> Response:
    base_url = get_runtime(request).settings.public_url.rstrip("/") + "/catalog/sru"
    reply = await handle_sru(uow.session, params, base_url)
    return Response(content=reply.body, media_type=reply.media_type)


@router.get(
    "/sru",
    summary="SRU 2.0/1.2 endpoint: explain and searchRetrieve with CQL, records as MARCXML with holdings or Dublin "
            "Core (public: anyone, no token needed).",
    description=_DESCRIPTION, response_class=Response, responses=_RESPONSES,
)
async def sru(request: Request, uow: UnitOfWorkDep) -> Response:
    return await _answer(request, uow, dict(request.query_params))


@router.post(
    "/sru",
    summary="SRU 2.0/1.2 over HTTP POST: the same parameters as a form body "
            "(application/x-www-form-urlencoded; public).",
    description=_DESCRIPTION, response_class=Response, responses=_RESPONSES,
)
async def sru_post(request: Request, uow: UnitOfWorkDep) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise Problem(f"SRU over POST takes a `{FORM}` body", status=415)
    form = await request.form()
    return await _answer(request, uow, {name: value for name, value in form.items() if isinstance(value, str)})
