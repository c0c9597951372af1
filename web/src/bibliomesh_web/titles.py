"""Requests carry the broker's normalized title (lower case, leading article dropped); pages show the union
record's own title, from the public `GET /catalog/clusters/{id}`, kept per process (titles hardly change)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import httpx

from bibliomesh_web.settings import WebSettings

MAX_KEPT = 5000
MAX_FETCHED_AT_ONCE = 40


class ClusterTitles:
    def __init__(self) -> None:
        self._titles: OrderedDict[int, str] = OrderedDict()

    async def fill(self, http: httpx.AsyncClient, settings: WebSettings, requests: list[dict[str, Any]]) -> None:
        """Set `display_title` on each request: the record's title when known, else the broker's."""
        missing = list(dict.fromkeys(r["cluster_id"] for r in requests
                                     if r.get("cluster_id") and r["cluster_id"] not in self._titles))
        found = await asyncio.gather(*(self._fetch(http, settings, c) for c in missing[:MAX_FETCHED_AT_ONCE]))
        for cluster, title in zip(missing, found, strict=False):
            if title:
                self._titles[cluster] = title
        while len(self._titles) > MAX_KEPT:
            self._titles.popitem(last=False)
        for request in requests:
            request["display_title"] = self._titles.get(request.get("cluster_id") or 0) or _readable(request)

    async def _fetch(self, http: httpx.AsyncClient, settings: WebSettings, cluster: int) -> str | None:
        try:
            answer = await http.get(f"{settings.api_base}/catalog/clusters/{cluster}")
            return str(answer.json()["display"]["title"]) if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None


def _readable(request: dict[str, Any]) -> str:
    title = str(request.get("citation", {}).get("title") or request.get("title") or "")
    return title[:1].upper() + title[1:]
