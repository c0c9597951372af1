"""`GET /catalog/sru`: SRU 1.2 and 2.0 (explain, searchRetrieve with CQL) for library systems and ILL peers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bibliomesh_catalog.service_layer.sru import handle_sru
from meshkit.web import UnitOfWorkDep, get_runtime

router = APIRouter(prefix="/catalog", tags=["sru"])


@router.get(
    "/sru",
    summary="SRU 2.0/1.2 endpoint: explain and searchRetrieve with CQL, records as MARCXML with holdings or Dublin "
            "Core (public: anyone, no token needed).",
    description="Parameters as in SRU: `version` (2.0 by default, or 1.2), `operation` (1.2), `query` (CQL), "
                "`startRecord`, `maximumRecords` (at most 100), `recordSchema` (`marcxml` or `dc`), "
                "`recordPacking`/`recordXMLEscaping` (`xml` or `string`). Errors come back as SRU diagnostics "
                "in a 200 response.",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "An SRU response document."}},
)
async def sru(request: Request, uow: UnitOfWorkDep) -> Response:
    base_url = get_runtime(request).settings.public_url.rstrip("/") + "/catalog/sru"
    reply = await handle_sru(uow.session, dict(request.query_params), base_url)
    return Response(content=reply.body, media_type=reply.media_type)
