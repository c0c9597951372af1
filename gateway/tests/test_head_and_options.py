"""HEAD answers as GET does without the body; OPTIONS is treated alike with and without a token."""

from __future__ import annotations

import pytest

from gateway.tests.gateway_fixtures import FakeService, RestartableServer, bearer, platform, problem, token

OWN_ROUTES = ["/healthz", "/readyz", "/openapi.json", "/docs"]
PUBLIC = ["/auth/jwks", "/.well-known/openid-configuration", "/catalog/search"]


@pytest.mark.parametrize("with_web_front_end", [False, True], ids=["alone", "with web front end"])
async def test_head_on_the_gateways_own_routes_is_their_get_without_a_body(with_web_front_end: bool) -> None:
    web = FakeService("web")
    front = RestartableServer(web.app())
    await front.start()
    try:
        settings = {"web_url": front.url} if with_web_front_end else {}
        async with platform(**settings) as gateway, gateway.client() as client:
            for path in OWN_ROUTES:
                got, head = await client.get(path), await client.head(path)

                assert head.status_code == got.status_code == 200, path
                assert head.content == b"", path
                assert head.headers["content-type"] == got.headers["content-type"], path
                assert head.headers["x-frame-options"] == "DENY", path
            document = (await client.get("/openapi.json")).json()
            assert set(document["paths"]["/healthz"]) == {"get"}  # HEAD is not a second operation
        assert web.calls == []  # never handed to the web front end
    finally:
        await front.stop()


async def test_options_on_a_public_route_reaches_the_service_with_or_without_a_token() -> None:
    async with platform() as gateway, gateway.client() as client:
        for path in PUBLIC:
            anonymous = await client.options(path)
            signed = await client.options(path, headers=bearer(token()))

            assert anonymous.status_code == signed.status_code == 405, path  # the fake services' answer
            assert anonymous.headers["allow"] == signed.headers["allow"], path
        private = await client.options("/ill/requests")
        assert private.status_code == 401 and problem(private)["status"] == 401  # as for any method there
