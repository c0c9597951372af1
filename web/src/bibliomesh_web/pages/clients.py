"""API clients of an institution (institution admins; platform admins see every institution's): register one,
change it, rotate its secret, disable it and enable it again. A new secret is shown once, on the answer page, and
never stored here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import FormPage, Page, PageDep

router = APIRouter()
PARTNER_SCOPES = ("catalog:read", "catalog:write", "ill:request", "ill:lend", "ill:manage", "notify:manage")


@router.get("/clients", response_class=HTMLResponse)
async def clients(page: PageDep) -> HTMLResponse:
    return await _listing(page)


async def _listing(page: Page, created: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    user = page.require_institution_admin()
    institution = None if user.is_platform_admin else user.institution
    listed = await page.api.get("/auth/clients", institution=institution, include_disabled="true")
    return await page.render("clients.html", clients=listed, scopes=PARTNER_SCOPES, created=created, status=status)


@router.post("/clients", response_class=HTMLResponse)
async def create(request: Request, page: FormPage) -> Response:
    user = page.require_institution_admin()
    form = await request.form()
    body = {"name": str(form.get("name", "")).strip(), "scopes": [str(s) for s in form.getlist("scopes")],
            "institution": str(form.get("institution") or user.institution)}
    try:
        made = await page.api.post("/auth/clients", body)
    except ApiError as exc:
        page.flash("error", "clients.failed", detail=exc.detail)
        return page.redirect("/clients")
    return await _listing(page, created={"client_id": made["client_id"], "secret": made.get("client_secret") or ""})


@router.post("/clients/{client_id}/secret", response_class=HTMLResponse)
async def rotate(page: FormPage, client_id: str) -> Response:
    page.require_institution_admin()
    try:
        made = await page.api.post(f"/auth/clients/{client_id}/secret")
    except ApiError as exc:
        page.flash("error", "clients.failed", detail=exc.detail)
        return page.redirect("/clients")
    return await _listing(page, created={"client_id": client_id, "secret": made.get("client_secret") or ""})


@router.post("/clients/{client_id}")
async def update(request: Request, page: FormPage, client_id: str) -> RedirectResponse:
    page.require_institution_admin()
    form = await request.form()
    body: dict[str, Any] = {"name": str(form.get("name", "")).strip(),
                            "scopes": [str(s) for s in form.getlist("scopes")]}
    if "redirect_uris" in form:  # only public clients have the field
        body["redirect_uris"] = [line.strip() for line in str(form["redirect_uris"]).splitlines() if line.strip()]
    try:
        await page.api.patch(f"/auth/clients/{client_id}", body)
        page.flash("ok", "clients.saved", client=client_id)
    except ApiError as exc:
        page.flash("error", "clients.failed", detail=exc.detail)
    return page.redirect("/clients")


@router.post("/clients/{client_id}/disable")
async def disable(page: FormPage, client_id: str) -> RedirectResponse:
    return await _switch(page, client_id, "disable", "clients.disabled")


@router.post("/clients/{client_id}/enable")
async def enable(page: FormPage, client_id: str) -> RedirectResponse:
    return await _switch(page, client_id, "enable", "clients.enabled")


async def _switch(page: Page, client_id: str, action: str, done: str) -> RedirectResponse:
    page.require_institution_admin()
    try:
        await page.api.post(f"/auth/clients/{client_id}/{action}")
        page.flash("ok", done, client=client_id)
    except ApiError as exc:
        page.flash("error", "clients.failed", detail=exc.detail)
    return page.redirect("/clients")
