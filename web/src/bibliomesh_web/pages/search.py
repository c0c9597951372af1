"""The home page and the union catalogue search: facets, holders with on-shelf availability, a link to each
result's record page, and the two-click request form on every result."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bibliomesh_web.request_form import may_request, pickup_choices, where_held
from bibliomesh_web.views import PageDep
from meshkit.numbers import whole_number

router = APIRouter()
FILTERS = ("format", "language", "institution", "region")
PAGE_SIZE = 20


@router.get("/", response_class=HTMLResponse)
async def home(page: PageDep) -> HTMLResponse:
    return await page.render("home.html", demo_password=page.settings.demo_password)


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, page: PageDep) -> HTMLResponse:
    query = request.query_params
    chosen = {name: query.getlist(name) for name in FILTERS}
    params: dict[str, Any] = {"q": query.get("q", "").strip(), **chosen,
                              "available": "true" if query.get("available") == "true" else None,
                              "sort": query.get("sort") or None, "page": _page_number(query.get("page")),
                              "page_size": PAGE_SIZE}
    searched = bool(params["q"] or any(chosen.values()) or params["available"])
    found = await page.api.get("/catalog/search", anonymous=page.user is None, **params) if searched else None
    user = page.user
    pickups = pickup_choices(page.directory, user) if user else []
    return await page.render(
        "search.html", q=params["q"], chosen=chosen, available=bool(params["available"]), sort=params["sort"],
        found=found, results=[_result(hit, user.institution if user else None) for hit in (found or {}).get(
            "results", [])], facets=(found or {}).get("facets", {}), pickups=pickups,
        may_request=may_request(user), pages=_pages(found, params["page"], request))


def _page_number(raw: str | None) -> int:
    return whole_number(raw, high=500) or 1


def _result(hit: dict[str, Any], own: str | None) -> dict[str, Any]:
    return {**hit, **where_held((h.get("institution") for h in hit.get("holdings", [])), own)}


def _pages(found: dict[str, Any] | None, current: int, request: Request) -> dict[str, Any]:
    if not found:
        return {}
    last = max(1, min(500, -(-int(found.get("total", 0)) // PAGE_SIZE)))

    def link(number: int) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"] + [("page", str(number))]
        return "/search?" + urlencode(params)

    return {"current": current, "last": last, "previous": link(current - 1) if current > 1 else None,
            "next": link(current + 1) if current < last else None}
