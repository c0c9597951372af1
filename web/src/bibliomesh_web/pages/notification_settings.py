"""How people are told what happened: a person's own notification settings (`/notify/preferences`, anyone signed
in) and their library's ILL mailbox's (`/notify/mailboxes/{code}/preferences`, `notify:manage`). One row per
message kind, a checkbox per channel, the daily digest. Where notify does not offer them, the pages say so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bibliomesh_web.pages.notifications import MISSING
from bibliomesh_web.platform import ApiError
from bibliomesh_web.preferences_form import (
    CHANNELS,
    EMAIL,
    Choices,
    Group,
    body_to_save,
    mailbox_groups,
    personal_groups,
    read_choices,
)
from bibliomesh_web.views import FormPage, Page, PageDep

router = APIRouter()
OWN_PATH = "/notifications/settings"
MAILBOX_PATH = "/notifications/mailbox"


@dataclass(frozen=True)
class Form:
    """Whose settings a page edits: notify's path for them, the page's own, the kinds it offers on which channels
    (given the kinds notify knows), and the table's channel columns."""

    api_path: str
    path: str
    groups: Callable[[list[str]], list[Group]]
    columns: tuple[str, ...]
    mailbox: bool = False


def _own(page: Page) -> Form:
    user = page.require_user()
    return Form("/notify/preferences", OWN_PATH, lambda kinds: personal_groups(kinds, user), CHANNELS)


def _mailbox(page: Page) -> Form:
    user = page.require_scope("notify:manage")
    return Form(f"/notify/mailboxes/{quote(user.institution, safe='')}/preferences", MAILBOX_PATH, mailbox_groups,
                (EMAIL,), mailbox=True)


@router.get(OWN_PATH, response_class=HTMLResponse)
async def own_settings(page: PageDep) -> HTMLResponse:
    return await _show(page, _own(page))


@router.post(OWN_PATH, response_class=HTMLResponse)
async def save_own_settings(request: Request, page: FormPage) -> Response:
    return await _save(request, page, _own(page))


@router.get(MAILBOX_PATH, response_class=HTMLResponse)
async def mailbox_settings(page: PageDep) -> HTMLResponse:
    return await _show(page, _mailbox(page))


@router.post(MAILBOX_PATH, response_class=HTMLResponse)
async def save_mailbox_settings(request: Request, page: FormPage) -> Response:
    return await _save(request, page, _mailbox(page))


async def _show(page: Page, form: Form) -> HTMLResponse:
    try:
        current = await page.api.get(form.api_path)
    except ApiError as exc:
        if exc.status not in MISSING:
            raise
        current = None
    return await _render(page, form, current)


async def _save(request: Request, page: Page, form: Form) -> Response:
    """Send exactly what was ticked; a form naming a kind or channel it does not offer comes back (400) as sent,
    and nothing is saved."""
    try:
        current = await page.api.get(form.api_path)
    except ApiError as exc:
        if exc.status not in MISSING:
            raise
        return await _render(page, form, None, status=503)
    groups = form.groups(list(current["channels"]))
    chosen = read_choices(await request.form(), groups)
    if chosen.not_offered:
        error = page.t("prefs.not_offered", what=", ".join(chosen.not_offered[:5]))
        return await _render(page, form, current, chosen, error, status=400)
    try:
        await page.api.put(form.api_path, body_to_save(current["channels"], groups, chosen))
    except ApiError as exc:
        error = page.t("prefs.failed", detail=exc.detail)
        return await _render(page, form, current, chosen, error, status=exc.status if 400 <= exc.status < 500
                             else 502)
    page.flash("ok", "prefs.mailbox_saved" if form.mailbox else "prefs.saved")
    return page.redirect(form.path)


async def _render(page: Page, form: Form, current: dict[str, Any] | None, chosen: Choices | None = None,
                  error: str | None = None, status: int = 200) -> HTMLResponse:
    user = page.require_user()
    values: dict[str, Any] = {"available": current is not None, "form": form, "error": error,
                              "ill_email": page.directory.ill_email(user.institution),
                              "listed": user.institution in page.directory.institutions}
    if current is not None:
        values |= {"groups": form.groups(list(current["channels"])),
                   "chosen": chosen.channels if chosen else current["channels"],
                   "digest": chosen.digest if chosen else current["digest"]}
    return await page.render("notification_settings.html", status=status, **values)
