"""A caller's request id is kept only if short and plain: every service answers with it and logs it."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from meshkit import context
from meshkit.metrics import ServiceMetrics
from meshkit.web import RequestContextMiddleware

KEPT = ["req-123", "01HZX3.web:42_a-b", "x" * 128]
REPLACED = ["x" * 129, "B" * 9000, "req 123", "a\tb", "caf\xe9", "<script>", "a,b", "a/b", "a\\b"]


async def answers(*request_ids: bytes | None) -> list[tuple[str, str]]:
    """(id in the answer, id the handler saw) for one call per id."""

    async def seen(request: Request) -> JSONResponse:
        return JSONResponse({"request_id": context.request_id.get()})

    app = RequestContextMiddleware(Starlette(routes=[Route("/seen", seen)]), service="catalog",
                                   metrics=ServiceMetrics("catalog"))
    found = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://catalog") as client:
        for request_id in request_ids:
            answer = await client.get("/seen", headers={"X-Request-ID": request_id} if request_id is not None else {})
            [returned] = answer.headers.get_list("x-request-id")
            found.append((returned, answer.json()["request_id"]))
    return found


async def test_a_short_plain_request_id_is_kept() -> None:
    assert await answers(*(sent.encode() for sent in KEPT)) == [(sent, sent) for sent in KEPT]


async def test_any_other_is_replaced_by_a_new_one_and_the_replacement_logged_briefly(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="meshkit.web"):
        found = await answers(*(sent.encode("latin-1") for sent in REPLACED))

    for (returned, seen), sent in zip(found, REPLACED, strict=True):
        assert returned == seen != sent
        assert len(returned) == 32 and int(returned, 16) >= 0, sent
    assert len({returned for returned, _ in found}) == len(REPLACED)
    assert len(caplog.records) == len(REPLACED)
    assert all(len(record.getMessage()) < 200 for record in caplog.records)
    assert [record.request_id for record in caplog.records] == [returned for returned, _ in found]  # type: ignore[attr-defined]


async def test_none_or_an_empty_one_gets_a_new_one_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="meshkit.web"):
        found = await answers(None, b"")

    assert all(len(returned) == 32 and returned == seen for returned, seen in found)
    assert caplog.records == []
