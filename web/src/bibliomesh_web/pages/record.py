"""A union record's own page, from the public `GET /catalog/clusters/{id}`: the description, identifiers and links
to electronic versions, the same work in other formats, every holder's items with live availability, the member
records and the key that joined each, and the request form as search results offer it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from bibliomesh_web.record_view import title_lang, web_link
from bibliomesh_web.request_form import may_request, pickup_choices, where_held
from bibliomesh_web.views import PageDep
from meshkit.numbers import whole_number

router = APIRouter()


@router.get("/record/{cluster_id}", response_class=HTMLResponse)
async def record(page: PageDep, cluster_id: str) -> HTMLResponse:
    number = whole_number(cluster_id) if cluster_id.isdigit() else None  # not even spaces around it
    if number is None:  # no record has such an id: the catalogue is not asked
        raise HTTPException(404)
    user = page.user
    own = user.institution if user else None
    cluster = await page.api.get(f"/catalog/clusters/{number}", anonymous=user is None)
    display = cluster["display"]
    language = display.get("language")
    holders = sorted(cluster.get("holdings", []), key=lambda h: h["institution"] != own)  # the person's own first

    def with_lang(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "lang": title_lang(e["title"], language)} for e in entries]

    return await page.render(
        "record.html", c=cluster, d=display, holders=holders, title_lang=title_lang(display["title"], language),
        alt_titles=[(alt, title_lang(alt, language)) for alt in cluster.get("alt_titles", [])],
        other_formats=with_lang(cluster.get("other_formats", [])), members=with_lang(cluster.get("members", [])),
        links=[(url, web_link(url)) for url in display.get("urls", [])],
        held=where_held((h["institution"] for h in holders), own), may_request=may_request(user),
        pickups=pickup_choices(page.directory, user) if user else [])
