"""When the token endpoint fails rather than refuses: the sign-in shows "unavailable, try again" (503) instead of
crashing or blaming the person, and a signed-in person stays signed in with their refresh token kept. Only an
answer that the grant itself is dead (`invalid_grant`, `invalid_client`) ends a session."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bibliomesh_web.sessions import Session
from meshkit.testing import free_port
from web.tests.web_fixtures import (
    NGINX_502,
    NOWHERE,
    answering,
    browser,
    embedded_platform,
    platform_for_web,
    signed_in,
    web_app,
)

UNAVAILABLE = "A part of the platform is unavailable. Try again shortly."


async def _come_back_from_signing_in(client: httpx.AsyncClient) -> httpx.Response:
    """Start a sign-in, and come back to the callback as the auth service would send the browser."""
    started = await client.get("/signin")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    return await client.get("/callback", params={"code": "a-code", "state": state},
                            headers={"accept": "text/html"})


async def test_sign_in_says_unavailable_when_a_proxy_answers_with_its_own_error_page() -> None:
    with answering(502, NGINX_502, "text/html") as ingress:
        async with browser(web_app(ingress)) as client:
            back = await _come_back_from_signing_in(client)
    assert back.status_code == 503 and UNAVAILABLE in back.text


async def test_sign_in_rate_limited_shows_the_rate_limit_page_not_a_refusal() -> None:
    limited = (b'{"type": "about:blank", "title": "Too Many Requests", "status": 429, '
               b'"detail": "too many requests for this address; try again in 30 s"}')
    with answering(429, limited, "application/problem+json") as gateway:
        async with browser(web_app(gateway)) as client:
            back = await _come_back_from_signing_in(client)
    assert back.status_code == 429
    assert "refused" not in back.text.lower()


async def test_sign_in_says_unavailable_when_auth_is_down(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with embedded_platform(tmp_path, auth_url=dead) as platform, browser(web_app(platform)) as client:
        back = await _come_back_from_signing_in(client)
    assert back.status_code == 503 and UNAVAILABLE in back.text


async def test_sign_in_refused_by_auth_says_so(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, browser(web_app(platform)) as client:
        back = await _come_back_from_signing_in(client)
    assert back.status_code == 400 and "unknown authorization code" in back.text


def _still_signed_in(session: Session) -> bool:
    return session.user is not None and session.tokens is not None and session.tokens.refresh_token is not None


async def test_a_refresh_that_fails_at_the_gateway_keeps_the_person_signed_in(tmp_path: Path) -> None:
    async with embedded_platform(tmp_path, auth_url=f"http://127.0.0.1:{free_port()}") as platform:
        app = web_app(platform)
        person = signed_in(app, expired=True)
        async with browser(app, person) as client:
            shown = await client.get("/requests", headers={"accept": "text/html"})
            assert shown.status_code == 503 and UNAVAILABLE in shown.text
            assert _still_signed_in(person) and app.state.sessions.get(person.id) is person
            assert (await client.get("/live")).status_code == 204  # the page's event stream: no stream for now
            home = await client.get("/")
            assert home.status_code == 200 and "Rea Der" in home.text


async def test_a_refresh_that_meets_a_proxys_error_page_keeps_the_person_signed_in() -> None:
    with answering(502, NGINX_502, "text/html") as ingress:
        app = web_app(ingress)
        person = signed_in(app, expired=True)
        async with browser(app, person) as client:
            shown = await client.get("/requests", headers={"accept": "text/html"})
            live = await client.get("/live")
    assert shown.status_code == 503 and live.status_code == 204 and _still_signed_in(person)


async def test_a_refresh_that_cannot_connect_keeps_the_person_signed_in() -> None:
    app = web_app(NOWHERE)
    person = signed_in(app, expired=True)
    async with browser(app, person) as client:
        shown = await client.get("/requests", headers={"accept": "text/html"})
    assert shown.status_code == 503 and _still_signed_in(person)


async def test_a_dead_refresh_token_ends_the_session(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform:
        for client_id in ("bibliomesh-web", "no-such-client"):  # invalid_grant (400), invalid_client (401)
            app = web_app(platform, client_id=client_id)
            person = signed_in(app, expired=True)
            async with browser(app, person) as client:
                shown = await client.get("/requests")
            assert shown.status_code == 303 and shown.headers["location"] == "/signin?next=%2Frequests"
            assert person.user is None and person.tokens is None


async def test_anonymous_pages_are_rate_limited_per_browser_not_per_web_server(tmp_path: Path) -> None:
    # The web front end calls the gateway for every browser from its own address; it names the browser's
    # (X-Forwarded-For), so one browser's burst does not use up the anonymous limit of everyone behind it.
    async with embedded_platform(tmp_path, rate_limit_anonymous="4/minute") as platform:
        app = web_app(platform)

        def browser_at(address: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40_000)),
                                     base_url="http://web.test")

        async with browser_at("198.51.100.1") as busy, browser_at("198.51.100.2") as quiet:
            statuses = [(await busy.get("/search", params={"q": "history"})).status_code for _ in range(8)]
            assert statuses[0] == 200 and statuses[-1] == 429, statuses
            assert (await quiet.get("/search", params={"q": "history"})).status_code == 200
