"""Library staff's queues: incoming lending requests and outgoing borrowing requests, what needs attention first,
with the actions allowed now as buttons."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from bibliomesh_web.requests_view import queue
from bibliomesh_web.views import PageDep

router = APIRouter()
SIDES = ("lending", "borrowing")


@router.get("/staff", response_class=HTMLResponse)
async def staff_queue(page: PageDep, side: str = "lending") -> HTMLResponse:
    page.require_staff()
    side = side if side in SIDES else "lending"
    found = await page.titled(await page.api.get("/ill/requests", side=side, limit=200))
    parts = queue(found, side)
    counts = {name: len(rows) for name, rows in parts.items()}
    return await page.render("staff_queue.html", side=side, parts=parts, counts=counts,
                             back=f"/staff?side={side}")
