"""Asking the catalogue which clusters a citation means (`GET /catalog/openurl`, public).

The only synchronous call the broker makes: a patron submitting a citation is waiting for the answer. Routing
itself never calls out; it reads the broker's own copy of holdings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(5.0, connect=2.0)


@dataclass(frozen=True)
class CitationMatch:
    cluster_id: int
    title: str
    strong: bool


class CatalogUnavailable(Exception):
    """The catalogue did not answer; the caller falls back to its own identifier index."""


async def resolve_citation(catalog_url: str, openurl: dict[str, list[str]]) -> list[CitationMatch]:
    """Clusters the citation may mean, strong matches first."""
    params: list[tuple[str, str | int | float | bool | None]] = [
        (key, value) for key, values in openurl.items() for value in values]
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(f"{catalog_url.rstrip('/')}/catalog/openurl", params=params)
    except httpx.HTTPError as exc:
        raise CatalogUnavailable(repr(exc)) from exc
    if response.status_code == 422:
        return []
    if response.status_code != 200:
        raise CatalogUnavailable(f"catalogue answered {response.status_code}")
    matches = [CitationMatch(hit["cluster_id"], hit.get("title") or "", hit.get("strength") == "strong")
               for hit in response.json()]
    return sorted(matches, key=lambda m: not m.strong)
