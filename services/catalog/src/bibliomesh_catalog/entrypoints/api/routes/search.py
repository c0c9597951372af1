"""`GET /catalog/search`: the union catalogue's search (public, like an OPAC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bibliomesh_catalog.adapters.search.query import Sort
from bibliomesh_catalog.service_layer.search import MAX_PAGE_SIZE, SearchParams, search_catalog
from bibliomesh_catalog.service_layer.search_results import SearchResults
from meshkit.web import UnitOfWorkDep

router = APIRouter(prefix="/catalog", tags=["search"])

Text = Annotated[str | None, Query(max_length=500)]
Year = Annotated[int | None, Query(ge=0, le=9999, description="A four-digit publication year.")]


@router.get("/search", response_model=SearchResults,
            summary="Search the union catalogue; one result per cluster with holders and availability "
                    "(public: anyone, no token needed).")
async def search(
    uow: UnitOfWorkDep,
    q: Annotated[str | None, Query(max_length=500, description='Keywords; "quoted phrases"; `word*` for word '
                                                                "beginnings. Chinese is found by any word inside.")]
    = None,
    title: Text = None,
    author: Text = None,
    subject: Text = None,
    publisher: Text = None,
    isbn: Annotated[str | None, Query(max_length=40, description="ISBN-10 or -13, hyphens and qualifiers allowed.")]
    = None,
    issn: Annotated[str | None, Query(max_length=20)] = None,
    year_from: Year = None,
    year_to: Year = None,
    format: Annotated[list[str] | None, Query(description="`print` or `electronic` (repeatable).")] = None,
    language: Annotated[list[str] | None, Query(description="MARC language code, e.g. `chi` (repeatable).")] = None,
    institution: Annotated[list[str] | None, Query(description="Held by any of these institutions.")] = None,
    region: Annotated[list[str] | None, Query(description="Held by an institution in any of these regions.")] = None,
    available: Annotated[bool | None, Query(description="`true`: only what can be had now.")] = None,
    sort: Annotated[Sort | None, Query(description="relevance (default with a query), year_desc, year_asc, title.")]
    = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> SearchResults:
    params = SearchParams(q=q, title=title, author=author, subject=subject, publisher=publisher, isbn=isbn,
                          issn=issn, year_from=year_from, year_to=year_to, formats=format or [],
                          languages=language or [], institutions=institution or [], regions=region or [],
                          available=available, sort=sort, page=page, page_size=page_size)
    return await search_catalog(uow.session, params)
