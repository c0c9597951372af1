"""The directory as the web pages need it: names in both languages and pickup locations, from the public
`GET /auth/institutions`, kept for a minute."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bibliomesh_web.settings import WebSettings

log = logging.getLogger(__name__)

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class Directory:
    institutions: dict[str, dict[str, Any]]

    def names(self, lang: str) -> dict[str, str | None]:
        return {code: (i.get("name_zh") if lang == "zh" else None) or i.get("name_en")
                for code, i in self.institutions.items()}

    def pickup_locations(self, code: str) -> list[str]:
        return list(self.institutions.get(code, {}).get("pickup_locations") or [])

    def ill_email(self, code: str) -> str | None:
        """The library's ILL mailbox, where notify e-mails its staff's messages."""
        return self.institutions.get(code, {}).get("ill_email") or None


class DirectoryCache:
    def __init__(self) -> None:
        self._value = Directory({})
        self._loaded_at = 0.0

    async def get(self, http: httpx.AsyncClient, settings: WebSettings) -> Directory:
        if time.monotonic() - self._loaded_at < TTL_SECONDS and self._value.institutions:
            return self._value
        try:
            response = await http.get(f"{settings.api_base}/auth/institutions")
            response.raise_for_status()
            self._value = Directory({i["code"]: i for i in response.json()})
            self._loaded_at = time.monotonic()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # names fall back to codes until the directory answers again
            log.warning("directory not available; showing institution codes", extra={"error": repr(exc)})
        return self._value

    def forget(self) -> None:
        self._loaded_at = 0.0
