"""`/ill/openurl`: start a request from a discovery system's "Get it" link (OpenURL 1.0 KEV or 0.1).

`GET` shows what the link resolves to and the request it would make (a browser page confirms it);
`POST` with the same parameters makes the request. Who may call: `ill:request`, for the caller's institution.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bibliomesh_ill.domain.citations import citation_from_openurl
from bibliomesh_ill.entrypoints.api.routes.requests import request_view
from bibliomesh_ill.entrypoints.api.schemas import RequestView
from bibliomesh_ill.service_layer.submit import RequestInput, find_item, submit_request
from meshkit.problems import InvalidField
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, get_runtime, require_scope

router = APIRouter(prefix="/ill", tags=["requests"])
_COPY_GENRES = {"article", "journal", "issue", "proceeding", "conference", "preprint", "bookitem"}


def _input(http: Request) -> RequestInput:
    params = {key: http.query_params.getlist(key) for key in http.query_params}
    citation = citation_from_openurl(params)
    if not citation:
        raise InvalidField("rft.btitle", "the OpenURL carries no citation (title, ISBN, ISSN or OCLC number)")
    genre = (params.get("rft.genre") or params.get("genre") or [""])[0].lower()
    wanted = (params.get("svc.type") or [""])[0]
    service_type = wanted if wanted in ("loan", "copy", "copy-or-loan") else \
        "copy" if genre in _COPY_GENRES or citation.get("article_title") else "loan"
    pickup = next(iter(params.get("pickup_location") or []), None)
    return RequestInput(service_type=service_type, citation=citation, pickup_location=pickup)


@router.get("/openurl", summary="What an OpenURL resolves to and the request it would make (`ill:request`).")
async def preview(http: Request, uow: UnitOfWorkDep,
                  caller: Principal = require_scope("ill:request")) -> dict[str, Any]:
    given = _input(http)
    item = await find_item(uow, get_runtime(http).settings.catalog_url, given)  # type: ignore[attr-defined]
    holders = sorted({h.institution for h in item.holdings} - {caller.institution})
    return {"citation": given.citation, "service_type": given.service_type, "item_key": item.item_key,
            "cluster_id": item.cluster_id, "title": item.title, "holders": holders,
            "request": {"method": "POST", "href": "/ill/requests",
                        "body": {"cluster_id": item.cluster_id, "citation": given.citation,
                                 "service_type": given.service_type}}}


@router.post("/openurl", status_code=201, response_model=RequestView,
             summary="Make the request an OpenURL describes (`ill:request`).")
async def create_from_openurl(http: Request, uow: UnitOfWorkDep,
                              caller: Principal = require_scope("ill:request")) -> RequestView:
    request = await submit_request(uow, caller, _input(http), get_runtime(http).settings)  # type: ignore[arg-type]
    await uow.commit()
    return await request_view(uow, request, caller)
