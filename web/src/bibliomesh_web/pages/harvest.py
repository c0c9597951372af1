"""An institution's OAI-PMH harvest source at the catalogue (`/catalog/harvest-sources/{code}`), for people whose
token has `catalog:write`: register or change it, see how far harvesting got and each run with its counts, ask for
a harvest now, stop harvesting. Platform admins choose the institution (`?institution=`); everyone else manages
their own."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bibliomesh_web.harvest_form import NEW_SOURCE, SourceForm, read_source_form, source_values
from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import Forbidden, FormPage, Page, PageDep

router = APIRouter()
PATH = "/harvest"
RUNS_SHOWN = 20


def _institution(page: Page, asked: Any) -> str:
    user = page.require_scope("catalog:write")
    code = str(asked or "") or user.institution
    if code != user.institution and not user.is_platform_admin:
        raise Forbidden
    return code


def _source_path(code: str) -> str:
    return f"/catalog/harvest-sources/{quote(code, safe='')}"


def _back(page: Page, code: str) -> str:
    own = page.user is not None and page.user.institution == code
    return PATH if own else f"{PATH}?institution={quote(code, safe='')}"


@router.get(PATH, response_class=HTMLResponse)
async def harvest(page: PageDep, institution: str | None = None) -> HTMLResponse:
    return await _show(page, _institution(page, institution))


async def _show(page: Page, code: str, form: SourceForm | None = None, status: int = 200) -> HTMLResponse:
    try:
        source = await page.api.get(_source_path(code))
    except ApiError as exc:
        if exc.status != 404:
            raise
        source = None
    runs = (await page.api.get(f"{_source_path(code)}/runs", limit=RUNS_SHOWN))["runs"] if source else []
    form = form or SourceForm(source_values(source) if source else dict(NEW_SOURCE))
    institutions = sorted({*page.directory.institutions, code})
    return await page.render("harvest.html", status=status, institution=code, source=source, runs=runs,
                             active=_active(runs), form=form, institutions=institutions, back=_back(page, code))


def _active(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run harvesting now, else the one waiting to start."""
    return next((run for run in runs if run["status"] == "running"), None) or next(
        (run for run in runs if run["status"] == "queued"), None)


@router.post(PATH, response_class=HTMLResponse)
async def save(request: Request, page: FormPage) -> Response:
    """Register or change the source; a refused form comes back as filled in, each reason beside its field."""
    form = await request.form()
    code = _institution(page, form.get("institution"))
    read = read_source_form(form, page.t)
    if read.errors:
        return await _show(page, code, read, status=400)
    try:
        saved = await page.api.call("PUT", _source_path(code), json=read.body())
    except ApiError as exc:
        read.refused(exc, page.t)
        return await _show(page, code, read, status=exc.status if 400 <= exc.status < 500 else 502)
    page.flash("ok", "harvest.registered" if saved.status_code == 201 else "harvest.saved")
    return page.redirect(_back(page, code))


@router.post(f"{PATH}/runs")
async def harvest_now(request: Request, page: FormPage) -> RedirectResponse:
    code = _institution(page, (await request.form()).get("institution"))
    try:
        await page.api.post(f"{_source_path(code)}/runs")
        page.flash("ok", "harvest.queued")
    except ApiError as exc:
        page.flash("error", "harvest.failed", detail=exc.detail)
    return page.redirect(_back(page, code))


@router.post(f"{PATH}/stop")
async def stop(request: Request, page: FormPage) -> RedirectResponse:
    code = _institution(page, (await request.form()).get("institution"))
    try:
        await page.api.delete(_source_path(code))
        page.flash("ok", "harvest.stopped")
    except ApiError as exc:
        page.flash("error", "harvest.failed", detail=exc.detail)
    return page.redirect(_back(page, code))
