"""`GET /catalog/openurl`: an OpenURL link resolver for discovery systems' "Get it" links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from bibliomesh_catalog.domain.citation import parse_citation
from bibliomesh_catalog.service_layer.openurl import ResolvedCluster, resolve_citation
from meshkit.web import UnitOfWorkDep, get_runtime

router = APIRouter(prefix="/catalog", tags=["openurl"])


@router.get(
    "/openurl",
    response_model=list[ResolvedCluster],
    summary="Resolve an OpenURL citation to clusters, best first, or redirect to the one strong match "
            "(public: anyone, no token needed).",
    description="OpenURL 1.0 KEV (`url_ver=Z39.88-2004`, `rft.isbn`, `rft.issn`, `rft.btitle`, `rft.title`, "
                "`rft.jtitle`, `rft.atitle`, `rft.au`, `rft.aulast`, `rft.date`, `rft_id=info:oclcnum/…`, "
                "`rft_id=urn:ISBN:…`) or 0.1 (`isbn`, `issn`, `title`, `aulast`, `date`). With `redirect=true` "
                "and exactly one strong match the answer is a 302 to that cluster.",
    responses={302: {"description": "The one strong match: `Location` is the cluster."}},
)
async def openurl(
    request: Request, uow: UnitOfWorkDep,
    redirect: Annotated[bool, Query(description="Redirect to the cluster when exactly one matches strongly.")]
    = False,
) -> list[ResolvedCluster] | RedirectResponse:
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    resolved = await resolve_citation(uow.session, parse_citation(params))
    strong = [r for r in resolved if r.strength == "strong"]
    if redirect and len(strong) == 1:
        base = get_runtime(request).settings.public_url.rstrip("/")
        return RedirectResponse(f"{base}/catalog/clusters/{strong[0].cluster_id}", status_code=302)
    return resolved
