"""Bearer tokens are checked at the edge: a bad one never reaches a service; public routes stay open."""

from __future__ import annotations

import io
import json

import pytest

from gateway.tests.gateway_fixtures import FOREIGN_KEY, bearer, platform, problem, token
from meshkit import logs

REFUSED = {
    "signed by a key auth never published": bearer(token(key=FOREIGN_KEY)),
    "expired": bearer(token(expires_in=-120)),
    "another issuer": bearer(token(issuer="http://elsewhere.example")),
    "an ID token, not an access token": bearer(token(typ="JWT")),
    "not a JWT": bearer("x.y.z"),
    "not a bearer token": {"Authorization": "Basic a29oYTpzZWNyZXQ="},
    "no token": {},
}
PUBLIC = [("GET", "/catalog/search?q=x"), ("GET", "/catalog/sru?operation=explain"),
          ("GET", "/catalog/oai?verb=Identify"), ("POST", "/catalog/oai"), ("GET", "/catalog/openurl?isbn=978026"),
          ("GET", "/catalog/clusters/c-1"), ("HEAD", "/catalog/holders"), ("GET", "/.well-known/openid-configuration"),
          ("GET", "/auth/jwks"), ("POST", "/auth/token"), ("GET", "/auth/authorize"), ("POST", "/auth/login"),
          ("GET", "/auth/institutions"), ("GET", "/auth/institutions/CN-DL-LHU"), ("POST", "/ill/iso18626"),
          ("GET", "/notify/openapi.json")]


async def test_a_call_without_a_valid_token_is_refused_before_the_service() -> None:
    async with platform() as gateway, gateway.client() as client:
        for case, authorization in REFUSED.items():
            response = await client.post("/ill/requests", json={"cluster_id": "c1"}, headers=authorization)

            assert response.status_code == 401, case
            assert problem(response)["status"] == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert gateway.services["ill"].calls == [], "the service saw a call"


async def test_a_valid_token_passes_on_with_request_id_and_trace_context() -> None:
    async with platform() as gateway, gateway.client() as client:
        signed = token()
        response = await client.get("/ill/requests", params={"status": "open"},
                                    headers={**bearer(signed), "X-Request-ID": "req-123",
                                             "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})

        assert response.status_code == 200, response.text
        assert response.headers.get_list("x-request-id") == ["req-123"]
        [call] = gateway.services["ill"].calls
        assert call["query"] == "status=open"
        assert call["headers"]["authorization"] == f"Bearer {signed}"  # the service checks it again
        assert call["headers"]["x-request-id"] == "req-123"
        trace_id = call["headers"]["traceparent"].split("-")[1]
        assert trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert call["headers"]["x-forwarded-for"] == "127.0.0.1"


async def test_a_request_id_is_made_when_the_caller_sends_none() -> None:
    async with platform() as gateway, gateway.client() as client:
        response = await client.get("/catalog/search", params={"q": "history"})

        request_id = response.headers["x-request-id"]
        assert len(request_id) == 32
        [call] = gateway.services["catalog"].calls
        assert call["headers"]["x-request-id"] == request_id
        assert call["headers"]["traceparent"].startswith("00-")


async def test_public_routes_need_no_token_and_the_rest_do() -> None:
    async with platform() as gateway, gateway.client() as client:
        for method, path in PUBLIC:
            response = await client.request(method, path)
            assert response.status_code == 200, f"{method} {path}: {response.text}"
        client_credentials = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                               auth=("koha", "secret"))
        assert client_credentials.status_code == 200  # HTTP Basic: auth checks the client itself
        assert gateway.services["auth"].calls[-1]["headers"]["authorization"].startswith("Basic ")
        for method, path in [("POST", "/catalog/clusters/link"), ("GET", "/auth/users"), ("POST", "/catalog/search"),
                             ("GET", "/notify/contacts/CN-DL-LHU"), ("DELETE", "/auth/institutions/CN-DL-LHU")]:
            response = await client.request(method, path)
            assert response.status_code == 401, f"{method} {path}"


async def test_a_bad_token_is_refused_on_a_public_route_too() -> None:
    async with platform() as gateway, gateway.client() as client:
        response = await client.get("/catalog/search", params={"q": "x"}, headers=bearer(token(expires_in=-120)))

        assert response.status_code == 401
        assert gateway.services["catalog"].calls == []


async def test_paths_with_dot_segments_are_refused() -> None:
    async with platform() as gateway, gateway.client() as client:
        response = await client.get("/catalog/clusters/%2E%2E/records")

        assert response.status_code == 400
        assert gateway.services["catalog"].calls == []


async def test_when_the_keys_cannot_be_fetched_the_answer_is_503_not_401() -> None:
    async with platform(jwks_url="http://127.0.0.1:9/auth/jwks") as gateway, gateway.client() as client:
        response = await client.get("/ill/requests", headers=bearer(token()))

        assert response.status_code == 503
        assert "127.0.0.1" not in response.text  # no internals in the answer


async def test_the_access_log_line_names_the_call_its_caller_and_the_trace_the_service_continues(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    async with platform() as gateway, gateway.client() as client:
        monkeypatch.setattr(logs, "_access_writer", logs.BufferedLines(stream))  # after the gateway configured logs
        response = await client.get("/ill/requests", headers={
            **bearer(token(institution="CN-SH-FDU")), "X-Request-ID": "req-log-1",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
        logs.flush_access_log()

    assert response.status_code == 200
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    [call] = gateway.services["ill"].calls
    forwarded_span = call["headers"]["traceparent"].split("-")[2]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/ill/requests", 200)
    assert line["service"] == "gateway" and line["request_id"] == "req-log-1" and line["institution"] == "CN-SH-FDU"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["span_id"] == forwarded_span  # the gateway's span: the one the service continues


async def test_the_service_is_told_only_the_callers_address_the_gateway_settled_on_never_a_forged_chain() -> None:
    async with platform() as gateway, gateway.client() as client:
        # The test client is on loopback, which uvicorn trusts as a proxy by default: it takes the last address.
        response = await client.get("/ill/requests", headers={**bearer(token()),
                                                               "X-Forwarded-For": "6.6.6.6, 198.51.100.7"})

        assert response.status_code == 200, response.text
        [call] = gateway.services["ill"].calls
        assert call["headers"]["x-forwarded-for"] == "198.51.100.7"


async def test_refused_and_cross_origin_calls_carry_one_request_id_and_are_counted_and_logged_with_their_status(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy keeps a call's request context itself; cross-origin calls get it from meshkit's middleware instead.
    stream = io.StringIO()
    web = "https://web.example"
    async with platform(cors_origins=[web]) as gateway, gateway.client() as client:
        monkeypatch.setattr(logs, "_access_writer", logs.BufferedLines(stream))  # after the gateway configured logs
        refused = await client.get("/ill/requests", headers={"X-Request-ID": "req-401"})
        cross_origin = await client.get("/ill/requests", headers={**bearer(token()), "Origin": web,
                                                                  "X-Request-ID": "req-cors"})
        preflight = await client.options("/ill/requests", headers={
            "Origin": web, "Access-Control-Request-Method": "POST", "X-Request-ID": "req-preflight"})
        metrics = (await client.get("/metrics")).text
        logs.flush_access_log()

    assert refused.status_code == 401 and refused.headers.get_list("x-request-id") == ["req-401"]
    assert cross_origin.status_code == 200 and cross_origin.headers.get_list("x-request-id") == ["req-cors"]
    assert cross_origin.headers["access-control-allow-origin"] == web
    assert preflight.status_code == 200 and preflight.headers.get_list("x-request-id") == ["req-preflight"]
    lines = {line["request_id"]: line for line in map(json.loads, stream.getvalue().splitlines())}
    assert [lines[request_id]["status"] for request_id in ("req-401", "req-cors", "req-preflight")] == [401, 200, 200]
    assert 'http_requests_total{method="GET",route="/ill/*",status="401"} 1.0' in metrics
    assert 'http_requests_total{method="GET",route="/ill/*",status="200"} 1.0' in metrics
    assert 'http_requests_total{method="OPTIONS",route="/ill/*",status="200"} 1.0' in metrics
