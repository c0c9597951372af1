"""A HEAD of any page answers as its GET would, without the body: monitors and link checkers ask with HEAD."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.serving import serving
from web.tests.test_metrics_port import routes_counted
from web.tests.web_fixtures import browser, signed_in, web_app

HTML = {"accept": "text/html"}


async def test_a_head_of_a_page_answers_as_its_get_without_the_body() -> None:
    app = web_app()
    async with browser(app, signed_in(app)) as client:
        for path in ("/", "/search", "/search?q=history", "/record/181", "/record/abc", "/requests",
                     "/notifications/settings", "/notifications/mailbox", "/harvest", "/admin/peers",
                     "/admin/peers/US-KOHA", "/nowhere", "/static/app.css"):
            got = await client.get(path, headers=HTML)
            head = await client.head(path, headers=HTML)
            assert (head.status_code, head.content) == (got.status_code, b""), path
            for name in ("content-type", "content-length", "location", "cache-control",
                         "content-security-policy"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)


async def test_a_head_of_a_page_says_405_only_where_get_would() -> None:
    async with browser(web_app()) as client:
        answer = await client.head("/signout")  # a form's target: POST only
    assert answer.status_code == 405 and answer.headers["allow"] == "POST" and answer.content == b""


async def test_a_head_over_http_gets_the_headers_only() -> None:
    app = web_app()
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for path in ("/", "/search"):
            head = await client.head(path, headers=HTML)
            assert head.status_code == 200 and head.headers["content-type"].startswith("text/html"), path
            assert int(head.headers["content-length"]) > 1000 and head.content == b""


async def test_a_head_is_counted_under_its_page() -> None:
    app = web_app(metrics_port=0)
    async with browser(app) as client:
        await client.head("/search")
        scraped = await client.get("/web/metrics")
    assert ("/search", "200") in routes_counted(scraped.text)


async def test_a_head_of_a_delivered_file_asks_the_broker_with_a_head() -> None:
    # The broker answers a HEAD from the file's stored size, without reading the file: so must the page ask.
    asked: list[str] = []
    pdf = b"%PDF-1.4\n" + b"0" * 5000

    async def delivery(request: Request) -> Response:
        asked.append(request.method)
        headers = {"content-disposition": 'attachment; filename="chapter2.pdf"', "content-length": str(len(pdf))}
        return Response(b"" if request.method == "HEAD" else pdf, media_type="application/pdf", headers=headers)

    broker = Starlette(routes=[Route("/ill/requests/{request_id}/delivery", delivery)])
    async with serving(broker) as api_url:
        app = web_app(api_url)
        async with browser(app, signed_in(app)) as client:
            got = await client.get("/requests/r-1/delivery")
            head = await client.head("/requests/r-1/delivery")
    assert asked == ["GET", "HEAD"]
    assert (got.status_code, got.content) == (200, pdf) and (head.status_code, head.content) == (200, b"")
    for name in ("content-type", "content-length", "content-disposition"):
        assert head.headers.get(name) == got.headers.get(name), name
