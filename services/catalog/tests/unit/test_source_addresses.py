"""The harvester's guard on each run: a redirect into a private network is refused before it is followed, and a
host that does not resolve is a network error (retried like the others), not a refusal."""

from __future__ import annotations

import httpx
import pytest

from bibliomesh_catalog.adapters.oai_client import HarvestError
from bibliomesh_catalog.service_layer.source_addresses import public_hosts_only

PUBLIC = "https://93.184.216.34/oai"


def client(seen: list[str], allow_private: bool = False) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "93.184.216.34":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data"})
        return httpx.Response(200, text="secret")

    return httpx.AsyncClient(transport=httpx.MockTransport(answer), follow_redirects=True,
                             event_hooks={"request": [public_hosts_only(allow_private)]})


async def test_a_redirect_to_the_metadata_service_is_refused_before_it_is_followed() -> None:
    seen: list[str] = []
    async with client(seen) as http:
        with pytest.raises(HarvestError, match=r"refused to harvest 169\.254\.169\.254: it points at a non-public"):
            await http.get(PUBLIC)
    assert seen == [PUBLIC]


async def test_with_private_targets_allowed_the_redirect_is_followed() -> None:
    seen: list[str] = []
    async with client(seen, allow_private=True) as http:
        assert (await http.get(PUBLIC)).text == "secret"
    assert len(seen) == 2


async def test_a_host_that_does_not_resolve_is_a_network_error() -> None:
    seen: list[str] = []
    async with client(seen) as http:
        with pytest.raises(httpx.ConnectError, match="does not resolve"):
            await http.get("https://oai.nowhere.invalid/oai")
    assert seen == []
