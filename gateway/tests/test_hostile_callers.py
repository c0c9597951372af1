"""What a caller sends must not make a service's answer unreadable to the gateway, nor open its circuit breaker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.tests.gateway_fixtures import KEY, Platform, RestartableServer, bearer, platform, problem, token
from meshkit.metrics import ServiceMetrics
from meshkit.web import RequestContextMiddleware

HOSTILE_ID = "B" * 9000  # echoed by the service, a header line over aiohttp's default limit (8 KiB)


@asynccontextmanager
async def auth_behind_gateway(**settings: object) -> AsyncIterator[Platform]:
    """The gateway in front of an auth service built like the real one: meshkit's request context (which answers
    with the request id it was given) and a sign-in page that sends the caller's `state` back in its redirect;
    `/auth/unreadable` answers with a header line over even the gateway's raised limit."""

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [KEY.as_dict(private=False)]})

    async def authorize(request: Request) -> Response:
        return RedirectResponse(f"https://web.example/callback?state={request.query_params['state']}", 302)

    async def unreadable(request: Request) -> Response:
        return Response(headers={"X-Echo": "e" * 70_000})

    upstream = Starlette(routes=[Route("/auth/jwks", jwks), Route("/auth/authorize", authorize),
                                 Route("/auth/unreadable", unreadable)])
    server = RestartableServer(RequestContextMiddleware(upstream, service="auth", metrics=ServiceMetrics("auth")))
    await server.start()
    try:
        async with platform(auth_url=server.url, **settings) as gateway:
            yield gateway
    finally:
        await server.stop()


async def assert_breaker_closed_and_auth_answers(gateway: Platform, client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).json()["breakers"]["auth"] == "closed"
    normal = await client.get("/auth/jwks")
    assert normal.status_code == 200, normal.text
    assert normal.json()["keys"][0]["kid"] == "gateway-test"


async def test_a_long_request_id_is_replaced_so_no_caller_can_open_a_services_breaker(
        caplog: pytest.LogCaptureFixture) -> None:
    async with auth_behind_gateway() as gateway, gateway.client() as client:
        with caplog.at_level(logging.WARNING, logger="meshkit.web"):
            hostile = [await client.get("/auth/jwks", headers={"X-Request-ID": HOSTILE_ID}) for _ in range(10)]

        assert [answer.status_code for answer in hostile] == [200] * 10
        for answer in hostile:
            [request_id] = answer.headers.get_list("x-request-id")
            assert len(request_id) == 32 and int(request_id, 16) >= 0  # one the gateway made
        await assert_breaker_closed_and_auth_answers(gateway, client)
    replaced = [record for record in caplog.records if "request id" in record.getMessage()]
    assert len(replaced) == 10
    assert all(len(record.getMessage()) < 300 for record in replaced)  # bounded: never the id itself
    assert all(len(record.request_id) == 32 for record in replaced)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("sent", "kept"), [
    ("req-123", True), ("01HZX3.frontend:42_a-b", True), ("x" * 128, True),
    ("x" * 129, False), ("req 123", False), ("req\t1", False), ("caf\xe9", False), ("<script>", False),
    ("a,b", False), ("a/b", False),
])
async def test_a_request_id_is_kept_only_if_short_and_plain(sent: str, kept: bool) -> None:
    async with platform() as gateway, gateway.client() as client:
        answer = await client.get("/catalog/search", headers={"X-Request-ID": sent.encode("latin-1")})

        assert answer.status_code == 200
        [request_id] = answer.headers.get_list("x-request-id")
        assert (request_id == sent) is kept
        if not kept:
            assert len(request_id) == 32
        [call] = gateway.services["catalog"].calls
        assert call["headers"]["x-request-id"] == request_id  # the service is told the same one


async def test_a_long_location_from_a_service_reaches_the_caller() -> None:
    async with auth_behind_gateway() as gateway, gateway.client() as client:
        state = "s" * 9000
        answer = await client.get("/auth/authorize", params={"client_id": "web", "state": state})

        assert answer.status_code == 302, answer.text
        assert answer.headers["location"] == f"https://web.example/callback?state={state}"


async def test_an_answer_the_gateway_cannot_read_is_a_502_that_does_not_open_the_breaker() -> None:
    # Whatever made it unreadable (a header over even the raised limit: the gateway's server takes request lines
    # up to about 64 KiB, so a service repeating the whole query can still pass it), it says nothing about
    # whether the service is up, and is most likely the caller's doing.
    async with auth_behind_gateway(breaker_failure_threshold=2) as gateway, gateway.client() as client:
        unreadable = [await client.get("/auth/unreadable", headers=bearer(token())) for _ in range(6)]

        assert [answer.status_code for answer in unreadable] == [502] * 6
        assert problem(unreadable[0])["detail"] == "the auth service gave an invalid answer"
        assert "retry-after" not in unreadable[0].headers  # trying again changes nothing
        await assert_breaker_closed_and_auth_answers(gateway, client)
