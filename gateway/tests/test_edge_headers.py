"""Security headers on every answer, CORS for the web front end's origins only."""

from __future__ import annotations

from gateway.tests.gateway_fixtures import bearer, platform, problem, token

WEB = "https://web.library.example"


async def test_every_answer_carries_the_security_headers_and_hsts_only_in_distributed_mode() -> None:
    async with platform() as embedded, embedded.client() as client:
        answers = [await client.get("/catalog/search"), await client.get("/ill/requests"), await client.get("/healthz"),
                   await client.get("/nowhere")]
        for response in answers:
            assert response.headers["x-content-type-options"] == "nosniff", response.url
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
            assert "strict-transport-security" not in response.headers
        assert [r.status_code for r in answers] == [200, 401, 200, 404]
    async with platform(mode="distributed", redis_url="redis://127.0.0.1:6379/0") as distributed, \
            distributed.client() as client:
        response = await client.get("/catalog/search")
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_a_preflight_from_the_web_front_end_is_allowed_and_others_are_not() -> None:
    async with platform(cors_origins=[WEB]) as gateway, gateway.client() as client:
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type"}
        allowed = await client.options("/ill/requests", headers={"Origin": WEB, **preflight})
        refused = await client.options("/ill/requests", headers={"Origin": "https://evil.example", **preflight})
        call = await client.get("/ill/requests", headers={"Origin": WEB, **bearer(token())})

        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == WEB
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        if_match = await client.options("/auth/institutions/CN-DL-U1", headers={
            "Origin": WEB, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "if-match"})
        assert if_match.status_code == 200  # a browser app may send the version it read
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        assert problem(refused)["detail"] == "Disallowed CORS origin"
        for answer in (allowed, refused):
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
            assert answer.headers["referrer-policy"] == "no-referrer"
            [vary] = answer.headers.get_list("vary")  # CORS's own, naming Origin: not a second one
            assert "Origin" in vary.split(", ")
        assert call.headers["access-control-allow-origin"] == WEB
        assert {"ratelimit", "etag"} <= set(call.headers["access-control-expose-headers"].lower().split(", "))
        assert call.headers["x-frame-options"] == "DENY"
        assert gateway.services["ill"].calls[0]["method"] == "GET"  # the preflights never reached the service


async def test_a_refused_preflight_to_the_gateways_own_routes_is_a_problem_too() -> None:
    async with platform(cors_origins=[WEB]) as gateway, gateway.client() as client:
        refused = await client.options("/readyz", headers={"Origin": "https://evil.example",
                                                          "Access-Control-Request-Method": "GET"})

        assert refused.status_code == 400 and problem(refused)["detail"] == "Disallowed CORS origin"
        assert refused.headers["x-frame-options"] == "DENY"


async def test_a_cookie_a_service_sets_goes_to_its_caller_and_never_to_anyone_else() -> None:
    # Services by host name, as in a cluster (a cookie jar would ignore cookies from a bare IP address).
    async with platform(service_host="localhost") as gateway, gateway.client() as alice, \
            gateway.client() as bob:
        signed_in = await alice.post("/auth/sign-in", headers=bearer(token("person:alice")))
        await bob.get("/auth/authorize", params={"client_id": "web"})
        await alice.get("/auth/authorize", params={"client_id": "web"})

        assert "alice-session" in signed_in.headers["set-cookie"]
        bobs_call, alices_call = gateway.services["auth"].calls[-2:]
        assert "cookie" not in bobs_call["headers"]  # the gateway keeps no cookie jar of its own
        assert alices_call["headers"]["cookie"] == "session=alice-session"  # a caller's own cookies pass
