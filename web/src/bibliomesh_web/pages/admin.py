"""Platform administration: institutions with their tiers and lending policies, signing keys and dead letters.
Key rotation and dead-letter replay have no HTTP API (they are operator commands); their pages show the current
state that the API does expose and the exact commands to run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import BadInput, Forbidden, FormPage, Page, PageDep
from meshkit.numbers import whole_number

router = APIRouter()
CONSUMING_SERVICES = ("catalog", "ill", "notify")  # the services with consumers, hence dead letters
POLICY_NUMBERS = ("answer_within_hours", "loan_period_days", "max_active_loans")
POLICY_FLAGS = ("lends_loans", "lends_copies", "lends_electronic_copies")


@router.get("/admin", response_class=HTMLResponse)
async def institutions(page: PageDep) -> HTMLResponse:
    page.require_platform_admin()
    listed = await page.api.get("/auth/institutions", anonymous=True)
    return await page.render("admin_institutions.html", institutions=listed)


def _may_manage(page: Page, code: str) -> None:
    user = page.require_institution_admin()
    if not user.is_platform_admin and user.institution != code:
        raise Forbidden


@router.get("/institutions/{code}", response_class=HTMLResponse)
async def institution(page: PageDep, code: str) -> HTMLResponse:
    _may_manage(page, code)
    found = await page.api.get(f"/auth/institutions/{code}", anonymous=True)
    return await page.render("institution.html", i=found, numbers=POLICY_NUMBERS, flags=POLICY_FLAGS)


@router.post("/institutions/{code}/policy")
async def change_policy(request: Request, page: FormPage, code: str) -> RedirectResponse:
    _may_manage(page, code)
    form = await request.form()
    numbers: dict[str, int] = {}
    for name in POLICY_NUMBERS:
        raw = str(form.get(name, "")).strip()
        if not raw:
            continue  # left empty: stays as it is
        number = whole_number(raw, low=0)
        if number is None:
            raise BadInput(page.t("error.whole_number", field=page.t(f"policy.{name}")))
        numbers[name] = number
    current = await page.api.get(f"/auth/institutions/{code}", anonymous=True)
    policy: dict[str, Any] = {**(current.get("policy") or {}), **numbers}
    for name in POLICY_FLAGS:
        policy[name] = form.get(name) == "on"
    try:
        await page.api.patch(f"/auth/institutions/{code}", {"policy": policy})
        page.flash("ok", "admin.saved")
    except ApiError as exc:
        page.flash("error", "admin.failed", detail=exc.detail)
    return page.redirect(f"/institutions/{code}")


@router.post("/institutions/{code}/{change}")
async def suspend_or_reinstate(request: Request, page: FormPage, code: str, change: str) -> RedirectResponse:
    page.require_platform_admin()
    if change not in ("suspend", "reinstate"):
        raise Forbidden
    reason = str((await request.form()).get("reason") or "") or None
    try:
        await page.api.post(f"/auth/institutions/{code}/{change}", {"reason": reason} if change == "suspend" else None)
        page.flash("ok", "admin.saved")
    except ApiError as exc:
        page.flash("error", "admin.failed", detail=exc.detail)
    return page.redirect(f"/institutions/{code}")


@router.get("/admin/keys", response_class=HTMLResponse)
async def keys(page: PageDep) -> HTMLResponse:
    page.require_platform_admin()
    stored = await page.api.get("/auth/keys")
    rotations = await page.api.get("/auth/audit", action="signing-key-rotated", limit=20)
    return await page.render("admin_keys.html", keys=stored, rotations=rotations.get("items", []))


@router.post("/admin/keys/{operation}")
async def change_keys(page: FormPage, operation: str) -> RedirectResponse:
    page.require_platform_admin()
    if operation not in ("rotate", "purge"):
        raise Forbidden
    try:
        await page.api.post(f"/auth/keys/{operation}")
        page.flash("ok", "admin.saved")
    except ApiError as exc:
        page.flash("error", "admin.failed", detail=exc.detail)
    return page.redirect("/admin/keys")


@router.get("/admin/dead-letters", response_class=HTMLResponse)
async def dead_letters(page: PageDep) -> HTMLResponse:
    page.require_platform_admin()
    parked: dict[str, list[dict[str, Any]] | None] = {}
    for service in CONSUMING_SERVICES:
        try:
            parked[service] = await page.api.get(f"/{service}/admin/dead-letters")
        except ApiError:
            parked[service] = None  # the service is down: say so rather than show nothing
    return await page.render("admin_dead_letters.html", parked=parked)


@router.post("/admin/dead-letters/{service}/replay")
async def replay_dead_letters(request: Request, page: FormPage, service: str) -> RedirectResponse:
    page.require_platform_admin()
    if service not in CONSUMING_SERVICES:
        raise Forbidden
    form = await request.form()
    message_id = str(form.get("message_id") or "") or None
    try:
        await page.api.post(f"/{service}/admin/dead-letters/replay",
                            {"message_ids": [message_id] if message_id else None})
        page.flash("ok", "admin.replayed")
    except ApiError as exc:
        page.flash("error", "admin.failed", detail=exc.detail)
    return page.redirect("/admin/dead-letters")
