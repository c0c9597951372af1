"""Bodies are limited before they are parsed (a form's files are spooled to /tmp before its CSRF token is checked):
ordinary forms to `max_form_bytes`, staff file forms to `max_upload_form_bytes`; a refusal is the 413 page. The file
forms spooled at once share `upload_spool_bytes`; beyond it a form is the 503 page with `Retry-After`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from bibliomesh_web.middleware import BodyLimitMiddleware, BodyTooLarge, SpoolFull
from bibliomesh_web.sessions import Session
from bibliomesh_web.settings import WebSettings
from meshkit.spool import SpoolBudget
from web.tests.web_fixtures import browser, signed_in, web_app

FORM_LIMIT = 64 * 1024
UPLOAD_LIMIT = 256 * 1024
CHUNK = 16 * 1024


class Body:
    """A multipart body sent in pieces without a Content-Length; counts what was taken from it. With `paused`, it
    stops after its first piece of the file until that event is set (an upload still arriving)."""

    TAIL = b"\r\n--b--\r\n"

    def __init__(self, size: int, csrf: str = "forged", paused: asyncio.Event | None = None) -> None:
        self.head = (f'--b\r\ncontent-disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--b\r\n'
                     'content-disposition: form-data; name="file"; filename="big.mrc"\r\n\r\n').encode()
        self.size = size
        self.sent = 0
        self.paused = paused

    @property
    def length(self) -> int:
        """Its Content-Length (`size` a whole number of chunks)."""
        return len(self.head) + self.size + len(self.TAIL)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        while self.sent < self.size:
            self.sent += CHUNK
            yield b"x" * CHUNK
            if self.paused is not None:
                await self.paused.wait()
        yield self.TAIL


class Urlencoded:
    """A urlencoded form sent in pieces without a Content-Length: one field as long as it gets."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"csrf=forged&notes="
        while self.sent < self.size:
            self.sent += CHUNK
            yield b"x" * CHUNK


MULTIPART = {"content-type": "multipart/form-data; boundary=b", "accept": "text/html"}


async def test_an_anonymous_form_too_large_is_refused_before_it_is_read() -> None:
    app = web_app(max_form_bytes=FORM_LIMIT, max_upload_form_bytes=UPLOAD_LIMIT)
    async with browser(app) as client:
        declared = await client.post("/language", files={"file": ("big.mrc", b"x" * (FORM_LIMIT + 1))},
                                     data={"lang": "zh", "csrf": "forged"}, headers={"accept": "text/html"})
        assert declared.status_code == 413
        assert "What was sent is too large." in declared.text and "At most 0.0625 MB" in declared.text
        streamed = Body(64 * 1024 * 1024)
        answer = await client.post("/staff/imports", content=streamed, headers=MULTIPART)
        assert answer.status_code == 413 and "What was sent is too large." in answer.text
        assert streamed.sent <= FORM_LIMIT + CHUNK  # the rest was never taken in
        small = await client.post("/language", data={"lang": "zh", "csrf": "forged"})
        assert small.status_code == 403  # under the limit: the CSRF check answers


async def test_staff_may_upload_a_larger_file_without_scripts_up_to_its_own_limit() -> None:
    app = web_app(max_form_bytes=FORM_LIMIT, max_upload_form_bytes=UPLOAD_LIMIT)
    session = staff_in(app)
    async with browser(app, session) as client:
        fits = Body(UPLOAD_LIMIT // 2, session.csrf)
        passed = await client.post("/staff/imports", content=fits, headers=MULTIPART)
        assert passed.status_code == 503  # read whole and sent on, to a platform that is down here
        assert fits.sent >= UPLOAD_LIMIT // 2
        too_large = Body(64 * 1024 * 1024, session.csrf)
        refused = await client.post("/staff/imports", content=too_large, headers=MULTIPART)
        assert refused.status_code == 413 and "At most 0.25 MB" in refused.text
        assert too_large.sent <= UPLOAD_LIMIT + CHUNK
        elsewhere = await client.post("/language", content=Body(UPLOAD_LIMIT // 2, session.csrf), headers=MULTIPART)
        assert elsewhere.status_code == 413  # the larger limit is only for the pages that take files


def staff_in(app: FastAPI) -> Session:
    session = signed_in(app)
    assert session.user is not None
    session.user = dataclasses.replace(session.user, roles=("staff",), scopes=frozenset({"ill:lend"}))
    return session


async def test_staff_urlencoded_forms_on_the_upload_pages_keep_the_ordinary_limit() -> None:
    # Starlette holds urlencoded fields in memory (1000 of 1 MiB): the upload limit would let one fill the pod's.
    app = web_app(max_form_bytes=FORM_LIMIT, max_upload_form_bytes=UPLOAD_LIMIT)
    session = staff_in(app)
    async with browser(app, session) as client:
        declared = await client.post("/staff/imports", data={"csrf": session.csrf, "notes": "x" * (FORM_LIMIT * 2)},
                                     headers={"accept": "text/html"})
        assert declared.status_code == 413 and "At most 0.0625 MB" in declared.text
        streamed = Urlencoded(64 * 1024 * 1024)
        refused = await client.post("/requests/r-1/delivery", content=streamed, headers={
            "content-type": "Application/X-WWW-Form-Urlencoded; charset=utf-8", "x-csrf-token": session.csrf,
            "accept": "text/html"})
        assert refused.status_code == 413 and "At most 0.0625 MB" in refused.text
        assert streamed.sent <= FORM_LIMIT + CHUNK
        # A file form however its type is spelt (Starlette ignores case and spaces) gets the upload limit, not none.
        odd = Body(64 * 1024 * 1024, session.csrf)
        answer = await client.post("/requests/r-1/delivery", content=odd, headers={
            **MULTIPART, "content-type": " Multipart/Form-Data ; boundary=b", "x-csrf-token": session.csrf})
        assert answer.status_code == 413 and "At most 0.25 MB" in answer.text
        assert odd.sent <= UPLOAD_LIMIT + CHUNK


@pytest.mark.parametrize(("path", "content_type", "limit"), [
    ("/staff/imports", b"multipart/form-data; boundary=b", UPLOAD_LIMIT),
    ("/requests/r-1/delivery", b"\tMULTIPART/form-data;boundary=b", UPLOAD_LIMIT),
    ("/staff/imports", b"application/x-www-form-urlencoded", FORM_LIMIT),
    ("/staff/imports", b"application/x-www-form-urlencoded ;charset=utf-8", FORM_LIMIT),
    ("/requests/r-1/delivery", b"application/octet-stream", FORM_LIMIT),
    ("/requests/r-1/delivery", None, FORM_LIMIT),
    ("/staff/imports", b"multipart/mixed; boundary=b", None),  # no form parser reads these: they stream on
    ("/staff/imports", b"application/octet-stream", None),
    ("/staff/imports", None, None),
])
async def test_what_each_body_of_staff_on_an_upload_page_may_reach(path: str, content_type: bytes | None,
                                                                   limit: int | None) -> None:
    """What a reader of the whole body gets through the limits: `limit` bytes, or all of it (None)."""
    read = 0

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal read
        while True:
            message = await receive()
            read += len(message.get("body", b""))
            if not message.get("more_body"):
                return

    settings = WebSettings(max_form_bytes=FORM_LIMIT, max_upload_form_bytes=UPLOAD_LIMIT)
    session = staff_in(web_app())
    middleware = BodyLimitMiddleware(reader, settings, SpoolBudget(settings.upload_spool_bytes, SpoolFull))
    pieces = 2 * UPLOAD_LIMIT // CHUNK

    async def receive() -> Message:
        nonlocal pieces
        pieces -= 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": pieces > 0}

    headers = [(b"content-type", content_type)] if content_type is not None else []
    scope: Scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "state": {"session": session}}
    if limit is None:
        await middleware(scope, receive, _no_send)
        assert read == 2 * UPLOAD_LIMIT
    else:
        with pytest.raises(BodyTooLarge) as refused:
            await middleware(scope, receive, _no_send)
        assert refused.value.limit == limit and read <= limit


async def _no_send(message: Message) -> None:
    raise AssertionError("nothing is answered here")


async def test_staff_file_forms_beyond_the_spool_budget_are_refused_until_others_end() -> None:
    app = web_app(max_form_bytes=FORM_LIMIT, max_upload_form_bytes=UPLOAD_LIMIT, upload_spool_bytes=2 * UPLOAD_LIMIT)
    session = staff_in(app)
    spool: SpoolBudget = app.state.upload_spool
    arriving = asyncio.Event()
    async with browser(app, session) as client:
        # Two large forms still arriving: each holds its declared length of the budget, 7/8 of it together.
        held = [Body(7 * UPLOAD_LIMIT // 8, session.csrf, arriving) for _ in range(2)]
        posts = [asyncio.create_task(client.post("/staff/imports", content=body, headers={
            **MULTIPART, "content-length": str(body.length)})) for body in held]
        while not all(body.sent for body in held):
            await asyncio.sleep(0.01)
        assert spool.used == sum(body.length for body in held)

        # One that says it would not fit is refused before a byte is read.
        declared = Body(UPLOAD_LIMIT // 2, session.csrf)
        busy = await client.post("/staff/imports", content=declared, headers={
            **MULTIPART, "content-length": str(declared.length)})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "30"
        assert "Other files are being uploaded right now." in busy.text
        assert declared.sent == 0
        # One without a length is refused once what arrived no longer fits.
        chunked = Body(UPLOAD_LIMIT // 2, session.csrf)
        busy = await client.post("/requests/r-1/delivery", content=chunked, headers=MULTIPART)
        assert busy.status_code == 503 and "Other files are being uploaded right now." in busy.text
        assert chunked.sent <= spool.total - spool.used + CHUNK and spool.used == sum(body.length for body in held)
        # An ordinary form is never spooled: it does not wait for the budget.
        small = await client.post("/language", data={"lang": "zh", "csrf": "forged"})
        assert small.status_code == 403

        arriving.set()
        for post in posts:
            # read whole and sent on, to a platform that is down here
            done = await post
            assert done.status_code == 503 and "retry-after" not in done.headers
        assert spool.used == 0
        again = Body(UPLOAD_LIMIT // 2, session.csrf)
        passed = await client.post("/staff/imports", content=again, headers={
            **MULTIPART, "content-length": str(again.length)})
        assert passed.status_code == 503 and "Other files are being uploaded" not in passed.text
        assert again.sent == UPLOAD_LIMIT // 2 and spool.used == 0


def test_the_spool_budget_holds_at_least_one_upload() -> None:
    with pytest.raises(ValueError, match="upload_spool_bytes"):
        WebSettings(max_upload_form_bytes=64 * 1024 * 1024, upload_spool_bytes=32 * 1024 * 1024)


async def test_a_form_of_many_small_parts_is_refused_before_they_all_sit_in_memory() -> None:
    # Within the byte limit, but Starlette would keep every field (and every small file) in memory.
    app = web_app(max_form_bytes=FORM_LIMIT, max_upload_form_bytes=UPLOAD_LIMIT)
    session = staff_in(app)
    parts = "".join(f'--b\r\ncontent-disposition: form-data; name="f{n}"\r\n\r\nx\r\n' for n in range(150))
    body = f'--b\r\ncontent-disposition: form-data; name="csrf"\r\n\r\n{session.csrf}\r\n{parts}--b--\r\n'
    async with browser(app, session) as client:
        answer = await client.post("/staff/imports", content=body.encode(), headers={
            **MULTIPART, "x-csrf-token": session.csrf})
        assert answer.status_code == 400
