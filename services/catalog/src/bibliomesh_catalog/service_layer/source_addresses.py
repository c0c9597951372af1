"""Harvest sources must be on the public internet (server-side request forgery): a `base_url` an institution chose
could otherwise make the catalogue fetch the cloud metadata service, loopback or the cluster's private network.

Checked when a source is registered or its URL changes, and again on each run, before the first request to each
host (the source's, or one it redirects to), so a name re-pointed at an internal address since is refused too;
the run's connections themselves go only to addresses checked as they are made (`public_only_transport`), so a
name that changes its answer between the check and the connection (DNS rebinding) reaches nothing.
`CATALOG_HARVEST_ALLOW_PRIVATE` lifts the checks for local testing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from bibliomesh_catalog.adapters.oai_client import HarvestError
from meshkit.outbound_urls import addresses_problem, resolve, resolved_problem, url_problem
from meshkit.problems import InvalidField
from meshkit.runtime import ServiceRuntime

HARVEST_SCHEMES = ("http", "https")


def private_sources_allowed(runtime: ServiceRuntime) -> bool:
    return bool(getattr(runtime.settings, "harvest_allow_private", False))


async def check_base_url(base_url: str, *, allow_private: bool) -> None:
    """A 422 naming `base_url` unless it is http(s) and every address its host resolves to is public."""
    problem = (url_problem(base_url, allow_private=allow_private, public_schemes=HARVEST_SCHEMES)
               or await resolved_problem(base_url, allow_private=allow_private))
    if problem:
        raise InvalidField("base_url", problem)


def public_hosts_only(allow_private: bool) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook for one run: resolves each new host and fails the run (`HarvestError`) if any of its
    addresses is not public. A host that does not resolve is a network error, retried like the others."""
    checked: set[tuple[str, str, int | None]] = set()

    async def check(request: httpx.Request) -> None:
        url = request.url
        origin = (url.scheme, url.host, url.port)
        if allow_private or origin in checked:
            return
        try:
            addresses = await resolve(url.host, url.port or (80 if url.scheme == "http" else 443))
        except OSError as exc:
            raise httpx.ConnectError(f"host {url.host} does not resolve ({exc.strerror or exc})",
                                     request=request) from exc
        problem = addresses_problem(addresses)
        if problem:
            raise HarvestError(f"refused to harvest {url.host}: it {problem}")
        checked.add(origin)

    return check
