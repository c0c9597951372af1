"""Outside ISO 18626 peers, for platform admins: the list, registering one, changing its ISO 18626 settings and
issuing the shared secret its messages must carry. The secret is shown once, in the answer to the POST that issued
it, and kept nowhere here (no URL, flash message, session or log).

A change is sent with `If-Match` naming the version the form was read at, so the directory applies it only if
nobody changed the peer meanwhile (else 412, shown as the conflict page with the current settings)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from bibliomesh_web.peer_form import (
    NEW_PEER,
    REGISTRATION,
    SCHEMA_VERSIONS,
    SETTINGS,
    PeerForm,
    read_peer_form,
    settings_values,
)
from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import FormPage, Page, PageDep

router = APIRouter()
PATH = "/admin/peers"
ISSUED = "peer-credentials-issued"
AUDIT_PAGE = 500
AUDIT_PAGES = 10


def _directory_path(code: str) -> str:
    return f"/auth/institutions/{quote(code, safe='')}"


def _page_path(code: str) -> str:
    return f"{PATH}/{quote(code, safe='')}"


def _status(exc: ApiError) -> int:
    return exc.status if 400 <= exc.status < 500 else 502


async def _issued(page: Page, code: str | None = None) -> dict[str, str]:
    """When each peer's credentials were last issued, from the audit trail: the public directory leaves the
    credential out."""
    issued: dict[str, str] = {}
    offset: int | None = 0
    for _ in range(AUDIT_PAGES):
        found = await page.api.get("/auth/audit", action=ISSUED, institution=code, limit=AUDIT_PAGE, offset=offset)
        for entry in found["items"]:  # newest first
            issued.setdefault(entry["target"], entry["at"])
        offset = found.get("next_offset")
        if offset is None:
            break
    return issued


@router.get(PATH, response_class=HTMLResponse)
async def peers(page: PageDep) -> HTMLResponse:
    page.require_platform_admin()
    return await _listing(page, PeerForm(dict(NEW_PEER)))


async def _listing(page: Page, form: PeerForm, status: int = 200) -> HTMLResponse:
    listed = await page.api.get("/auth/institutions", anonymous=True, kind="external-peer")
    return await page.render("admin_peers.html", status=status, peers=listed, issued=await _issued(page),
                             form=form, versions=SCHEMA_VERSIONS)


@router.post(PATH, response_class=HTMLResponse)
async def register(request: Request, page: FormPage) -> Response:
    """Register a peer; a refused form comes back as typed, each reason beside its field, and nothing is made."""
    page.require_platform_admin()
    read = read_peer_form(await request.form(), page.t, REGISTRATION)
    if read.errors:
        return await _listing(page, read, status=400)
    try:
        made = await page.api.post("/auth/institutions", read.registration())
    except ApiError as exc:
        read.refused(exc, page.t)
        return await _listing(page, read, status=_status(exc))
    request.app.state.directory.forget()  # so its name shows at once
    page.flash("ok", "peers.registered", code=made["code"])
    return page.redirect(_page_path(made["code"]))


async def _peer(page: Page, code: str) -> dict[str, Any]:
    found: dict[str, Any] = await page.api.get(_directory_path(code), anonymous=True)
    if found.get("kind") != "external-peer" or not found.get("iso18626"):
        raise HTTPException(404)
    return found


async def _show(page: Page, peer: dict[str, Any], form: PeerForm | None = None, *, conflict: bool = False,
                secret: str | None = None, status: int = 200) -> HTMLResponse:
    issued = (await _issued(page, peer["code"])).get(peer["code"])
    form = form or PeerForm(settings_values(peer))
    return await page.render("admin_peer.html", status=status, peer=peer, form=form, conflict=conflict,
                             secret=secret, issued=issued, versions=SCHEMA_VERSIONS)


@router.get(PATH + "/{code}", response_class=HTMLResponse)
async def peer(page: PageDep, code: str) -> HTMLResponse:
    page.require_platform_admin()
    return await _show(page, await _peer(page, code))


@router.post(PATH + "/{code}/settings", response_class=HTMLResponse)
async def change_settings(request: Request, page: FormPage, code: str) -> Response:
    """A merge patch of the settings, if nobody changed the peer since the form was read: otherwise the 409 page
    with the current settings and the form as typed (saving it again then replaces them)."""
    page.require_platform_admin()
    sent = await request.form()
    read = read_peer_form(sent, page.t, SETTINGS)
    version = str(sent.get("version") or "")
    if not version.isascii() or not version.isdigit() or len(version) > 9:  # not sent by the page: read when?
        return await _show(page, await _peer(page, code), read, conflict=True, status=409)
    if read.errors:
        return await _show(page, await _peer(page, code), read, status=400)
    try:  # the directory applies it only to the version the form was read at (If-Match), else 412
        await page.api.call("PATCH", _directory_path(code), json={"iso18626": read.settings()},
                            headers={"If-Match": f'"{version}"'})
    except ApiError as exc:
        current = await _peer(page, code)
        if exc.status in (409, 412):
            return await _show(page, current, read, conflict=True, status=409)
        read.refused(exc, page.t)
        return await _show(page, current, read, status=_status(exc))
    page.flash("ok", "peers.saved")
    return page.redirect(_page_path(code))


@router.post(PATH + "/{code}/credentials", response_class=HTMLResponse)
async def issue_credentials(page: FormPage, code: str) -> Response:
    """A new secret, replacing any earlier one: shown on this answer only, which no cache may keep."""
    page.require_platform_admin()
    try:
        issued = await page.api.post(f"{_directory_path(code)}/peer-credentials")
    except ApiError as exc:
        page.flash("error", "peers.failed", detail=exc.detail)
        return page.redirect(_page_path(code))
    shown = await _show(page, await _peer(page, code), secret=str(issued["secret"]))
    shown.headers["cache-control"] = "no-store"
    return shown
