"""Bodies are limited before they are parsed (a form's files are spooled to /tmp before its CSRF token is checked):
ordinary forms to `max_form_bytes`, staff file forms to `max_upload_form_bytes`; a refusal is the 413 page."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from web.tests.web_fixtures import browser, signed_in, web_app

FORM_LIMIT = 64 * 1024
UPLOAD_LIMIT = 256 * 1024
CHUNK = 16 * 1024


class Body:
    """A multipart body sent in pieces without a Content-Length; counts what was taken from it."""

    def __init__(self, size: int, csrf: str = "forged") -> None:
        self.head = (f'--b\r\ncontent-disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--b\r\n'
                     'content-disposition: form-data; name="file"; filename="big.mrc"\r\n\r\n').encode()
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        while self.sent < self.size:
            self.sent += CHUNK
            yield b"x" * CHUNK
        yield b"\r\n--b--\r\n"


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
    session = signed_in(app)
    assert session.user is not None
    session.user = dataclasses.replace(session.user, roles=("staff",), scopes=frozenset({"ill:lend"}))
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

