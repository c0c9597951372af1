"""An institution's webhooks at the notify service (institution admins with `notify:manage`): list, register,
pause or resume, remove, and each one's delivery log with redelivery. If notify offers no webhooks yet, the page
says so."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import FormPage, Page, PageDep

router = APIRouter()
MISSING = (404, 405, 501, 502, 503, 504)
EVENT_CHOICES = ("ill.request.*", "ill.request.submitted", "ill.request.shipped", "ill.request.received",
                 "ill.request.cancelled", "ill.acquisition.suggested", "catalog.holdings.changed", "*")


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks(page: PageDep) -> HTMLResponse:
    return await _listing(page)


async def _listing(page: Page, created: dict[str, str] | None = None) -> HTMLResponse:
    page.require_institution_admin()
    try:
        hooks = await page.api.get("/notify/webhooks")
    except ApiError as exc:
        if exc.status not in MISSING:
            raise
        return await page.render("webhooks.html", available=False, hooks=[], events=EVENT_CHOICES, created=None)
    return await page.render("webhooks.html", available=True, hooks=hooks, events=EVENT_CHOICES, created=created)


@router.post("/webhooks", response_class=HTMLResponse)
async def create(request: Request, page: FormPage) -> Response:
    page.require_institution_admin()
    form = await request.form()
    body = {"url": str(form.get("url", "")).strip(), "event_types": [str(e) for e in form.getlist("event_types")],
            "description": str(form.get("description") or "") or None}
    try:
        made = await page.api.post("/notify/webhooks", body)
    except ApiError as exc:
        page.flash("error", "webhooks.failed", detail=exc.detail)
        return page.redirect("/webhooks")
    return await _listing(page, created={"url": made["url"], "secret": made.get("secret", "")})


@router.post("/webhooks/{webhook_id}/enabled")
async def toggle(request: Request, page: FormPage, webhook_id: int) -> RedirectResponse:
    page.require_institution_admin()
    enabled = (await request.form()).get("enabled") == "true"
    try:
        await page.api.patch(f"/notify/webhooks/{webhook_id}", {"enabled": enabled})
    except ApiError as exc:
        page.flash("error", "webhooks.failed", detail=exc.detail)
    return page.redirect("/webhooks")


@router.post("/webhooks/{webhook_id}/delete")
async def delete(page: FormPage, webhook_id: int) -> RedirectResponse:
    page.require_institution_admin()
    try:
        await page.api.delete(f"/notify/webhooks/{webhook_id}")
        page.flash("ok", "webhooks.deleted")
    except ApiError as exc:
        page.flash("error", "webhooks.failed", detail=exc.detail)
    return page.redirect("/webhooks")


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
async def deliveries(page: PageDep, webhook_id: int) -> HTMLResponse:
    page.require_institution_admin()
    hook = await page.api.get(f"/notify/webhooks/{webhook_id}")
    log = await page.api.get(f"/notify/webhooks/{webhook_id}/deliveries", limit=50)
    return await page.render("webhook.html", hook=hook, deliveries=log)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(page: FormPage, webhook_id: int, delivery_id: int) -> RedirectResponse:
    page.require_institution_admin()
    try:
        await page.api.post(f"/notify/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
        page.flash("ok", "webhooks.redelivered")
    except ApiError as exc:
        page.flash("error", "webhooks.failed", detail=exc.detail)
    return page.redirect(f"/webhooks/{webhook_id}")
