"""What every page handler gets: the session, the language, the API with the person's token, and rendering."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bibliomesh_web.directory import Directory
from bibliomesh_web.i18n import LANG_COOKIE, Translator
from bibliomesh_web.platform import ApiError, Platform, PlatformUnavailable, SignInRequired
from bibliomesh_web.sessions import Session, User
from bibliomesh_web.settings import WebSettings
from meshkit.languages import choose_language

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
UNREAD_CACHE_SECONDS = 15.0


def _datetime(value: str | None) -> str:
    """`2025-03-01 14:05 UTC`; the page's script shows it in the reader's own time zone."""
    moment = when(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


TEMPLATES.filters["datetime"] = _datetime


class Forbidden(Exception):
    """This page is for another role."""


class CsrfFailed(Exception):
    """A form came without this session's CSRF token (or from another origin)."""


class BadInput(Exception):
    """What was sent cannot be used (a hand-made form or URL): the 400 page, with `detail` (translated) if given."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class Page:
    request: Request
    session: Session
    t: Translator
    api: Platform
    settings: WebSettings
    directory: Directory

    @property
    def user(self) -> User | None:
        return self.session.user

    def require_user(self) -> User:
        if self.session.user is None:
            raise SignInRequired
        return self.session.user

    def require_staff(self) -> User:
        user = self.require_user()
        if not user.is_staff:
            raise Forbidden
        return user

    def require_scope(self, scope: str) -> User:
        user = self.require_user()
        if scope not in user.scopes:
            raise Forbidden
        return user

    def require_institution_admin(self) -> User:
        user = self.require_user()
        if not user.is_institution_admin:
            raise Forbidden
        return user

    def require_platform_admin(self) -> User:
        user = self.require_user()
        if not user.is_platform_admin:
            raise Forbidden
        return user

    def name(self, code: str | None) -> str:
        return self.t.name(self.directory.names(self.t.lang), code)

    def flash(self, kind: str, key: str, **values: Any) -> None:
        self.session.flash(kind, self.t(key, **values))

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    async def titled(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The requests with `display_title`: the union record's title rather than the broker's key form."""
        await self.request.app.state.titles.fill(self.api.http, self.settings, requests)
        return requests

    async def unread(self) -> int | None:
        """The unread notification count for the header badge (cached briefly; None when notify cannot say)."""
        if self.user is None:
            return None
        cached = self.session.unread
        if cached is not None and time.monotonic() - cached[1] < UNREAD_CACHE_SECONDS:
            return cached[0]
        try:
            count = int((await self.api.get("/notify/notifications", limit=1))["unread"])
        except (ApiError, PlatformUnavailable, httpx.HTTPError, KeyError, TypeError, ValueError):
            count = None
        self.session.unread = (count, time.monotonic())
        return count

    async def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        self.session.keep = True  # its forms carry the session's CSRF token
        context = {"t": self.t, "lang": self.t.lang, "user": self.user, "csrf": self.session.csrf,
                   "flashes": self.session.take_flashes(), "path": self.request.url.path,
                   "here": _here(self.request), "name": self.name, "unread": await self.unread(),
                   "today": date.today().isoformat(), **values}
        return HTMLResponse(TEMPLATES.get_template(template).render(context), status_code=status)


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def safe_next(path: str | None) -> str:
    """Only our own paths: never `//host` or a full URL (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


async def page_of(request: Request) -> Page:
    state = request.app.state
    session: Session = request.state.session
    lang = choose_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    http = state.upstream.client
    directory = await state.directory.get(http, state.settings)
    return Page(request=request, session=session, t=Translator(lang),
                api=Platform(http, state.settings, session, request.client.host if request.client else None),
                settings=state.settings, directory=directory)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Our forms have a handful of short fields and at most one file. Starlette keeps every field, and every file part
# under 1 MiB, in memory: without these bounds one 64 MiB upload form of many small parts would sit in RAM.
FORM_BOUNDS = {"max_files": 4, "max_fields": 100, "max_part_size": 64 * 1024}


async def checked_page(request: Request) -> Page:
    """The page of a state-changing POST: the session's CSRF token must come with it (form field `csrf`, or the
    `X-CSRF-Token` header for script uploads), and a browser's Origin, when sent, must be ours."""
    page = await page_of(request)
    origin = request.headers.get("origin")
    ours = urlsplit(page.settings.public_base)
    if origin and origin != f"{ours.scheme}://{ours.netloc}":
        raise CsrfFailed
    sent = request.headers.get("x-csrf-token")
    if request.headers.get("content-type", "").lower().lstrip().startswith(FORM_TYPES):
        # Parsed here, within bounds, whatever carries the token: the page's own `request.form()` gets this parse.
        form = await request.form(**FORM_BOUNDS)
        if sent is None:
            sent = str(form.get("csrf") or "")
    if not sent or not secrets.compare_digest(sent, page.session.csrf):
        raise CsrfFailed
    return page


PageDep = Annotated[Page, Depends(page_of)]
FormPage = Annotated[Page, Depends(checked_page)]


def when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
