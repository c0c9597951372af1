"""A patron's requests and one request's page (shared with staff): progress, timeline, rota and the actions the
caller may take now, delivery of copies as files."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from bibliomesh_web.codes import CONDITIONS, REASONS_UNFILLED
from bibliomesh_web.platform import ApiError
from bibliomesh_web.request_form import RequestForm, pickup_choices, read_request_form
from bibliomesh_web.requests_view import INPUT_ACTIONS, QUICK_ACTIONS, action_body, milestones
from bibliomesh_web.views import BadInput, FormPage, Page, PageDep, safe_next
from meshkit.dates import earliest_today
from meshkit.head import answering_head
from meshkit.numbers import whole_number

router = APIRouter()
UPLOAD_CHUNK = 64 * 1024


@router.get("/requests", response_class=HTMLResponse)
async def my_requests(page: PageDep) -> HTMLResponse:
    page.require_user()
    mine = await page.api.get("/ill/requests", side="mine", limit=100)
    ordered = sorted(mine, key=lambda r: r["created_at"], reverse=True)
    return await page.render("my_requests.html", requests=await page.titled(ordered))


@router.post("/requests", response_class=HTMLResponse)
async def create(request: Request, page: FormPage) -> Response:
    """Send the search page's request form; anything wrong with it (by the form's own rules or the platform's)
    shows the form again, as filled in, with what to correct, and nothing is sent."""
    user = page.require_user()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    cluster_id = whole_number(form.get("cluster_id"))
    if cluster_id is None:  # the search page's forms always carry one: there is no form to show again
        raise BadInput
    back = safe_next(form.get("back"))
    pickups = pickup_choices(page.directory, user)
    asked = read_request_form(form, cluster_id, page.directory, user, earliest_today(), page.t)
    if asked.errors:
        return await _form_again(page, cluster_id, back, pickups, asked, 400)
    try:
        created = await page.api.post("/ill/requests", asked.body)
    except ApiError as exc:
        asked.errors["form"] = page.t("request.failed", detail=exc.detail)
        if (field := (exc.field or "").rsplit(".", 1)[-1]) in asked.values:
            asked.errors[field] = exc.detail
        return await _form_again(page, cluster_id, back, pickups, asked, exc.status if 400 <= exc.status < 500
                                 else 502)
    page.flash("ok", "request.sent")
    return page.redirect(f"/requests/{created['id']}")


async def _form_again(page: Page, cluster_id: int, back: str, pickups: list[str], asked: RequestForm,
                      status: int) -> HTMLResponse:
    title = (await page.titled([{"cluster_id": cluster_id}]))[0]["display_title"]
    return await page.render("request_form.html", status=status, cluster_id=cluster_id, title=title, back=back,
                             pickups=pickups, values=asked.values, errors=asked.errors)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def show(page: PageDep, request_id: str) -> HTMLResponse:
    page.require_user()
    found = (await page.titled([await page.api.get(f"/ill/requests/{request_id}")]))[0]
    allowed = found.get("allowed_actions", [])
    waiting = [e for e in found.get("rota") or [] if e.get("status") == "waiting"]
    return await page.render(
        "request.html", r=found, milestones=milestones(found), steps=list(reversed(found.get("steps", []))),
        quick=[a for a in allowed if a in QUICK_ACTIONS], needs_input=[a for a in allowed if a in INPUT_ACTIONS],
        cancel="cancel" in allowed, renew="request_renewal" in allowed, mark_overdue="mark_overdue" in allowed,
        reasons=REASONS_UNFILLED, conditions=CONDITIONS, waiting_lenders=waiting)


@router.post("/requests/{request_id}/actions/{action}")
async def act(request: Request, page: FormPage, request_id: str, action: str) -> RedirectResponse:
    page.require_user()
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    back = safe_next(form.get("back") or f"/requests/{request_id}")
    if action == "answer_renewal" and form.get("approve") not in ("yes", "no"):  # not a refusal by default
        page.flash("error", "action.choose_answer")
        return page.redirect(back)
    try:
        await page.api.post(f"/ill/requests/{request_id}/actions/{action}", action_body(action, form))
    except ApiError as exc:
        page.flash("error", "action.failed", action=page.t.label("action", action), detail=exc.detail)
        return page.redirect(back)
    page.flash("ok", "action.done", action=page.t.label("action", action))
    # A lender that says no is off the request (it can no longer see it): back to its queue.
    return page.redirect("/staff?side=lending" if action == "cannot_supply" else back)


@router.post("/requests/{request_id}/delivery")
async def deliver_file(request: Request, page: FormPage, request_id: str) -> RedirectResponse:
    page.require_staff()
    async with request.form() as form:  # its spooled file goes as soon as it has been sent on
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            page.flash("error", "delivery.no_file")
            return page.redirect(f"/requests/{request_id}")
        try:
            await page.api.call("POST", f"/ill/requests/{request_id}/delivery", params={"filename": upload.filename},
                                content=_chunks(upload), headers={"content-type": "application/octet-stream"})
        except ApiError as exc:
            page.flash("error", "action.failed", action=page.t.label("action", "deliver_copy"),
                       detail=exc.detail)
            return page.redirect(f"/requests/{request_id}")
    page.flash("ok", "action.done", action=page.t.label("action", "deliver_copy"))
    return page.redirect(f"/requests/{request_id}")


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


@router.get("/requests/{request_id}/delivery")
async def download(request: Request, page: PageDep, request_id: str) -> Response:
    """The delivered file, passed through; a HEAD asks the broker with a HEAD, which leaves the file unread."""
    page.require_user()
    head = answering_head(request)
    upstream = await page.api.open_stream("HEAD" if head else "GET", f"/ill/requests/{request_id}/delivery")
    headers = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "content-disposition",
                                                                          "content-length")}
    if head:
        await upstream.aclose()
        return StreamingResponse(iter(()), headers=headers)  # no Content-Length of its own: the file's, if known
    return StreamingResponse(upstream.aiter_raw(), headers=headers, background=BackgroundTask(upstream.aclose))
