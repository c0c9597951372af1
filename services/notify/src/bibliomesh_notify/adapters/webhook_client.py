"""Posting one signed webhook message the Standard Webhooks way (https://www.standardwebhooks.com/):
`webhook-id` (the same on every retry, so receivers can drop duplicates), `webhook-timestamp` (receivers reject
old ones: no replays) and `webhook-signature` = `v1,` base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from meshkit.outbound_urls import public_only_transport

USER_AGENT = "Bibliomesh-Webhooks/1.0"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def signed_headers(secret: str, message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    timestamp = now or datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
            "content-type": "application/json", "user-agent": USER_AGENT}


async def post(client: httpx.AsyncClient, url: str, secret: str, message_id: str, body: str) -> PostResult:
    try:
        response = await client.post(url, content=body.encode(), headers=signed_headers(secret, message_id, body))
    except httpx.HTTPError as exc:
        return PostResult(None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return PostResult(response.status_code, None)
    return PostResult(response.status_code, f"HTTP {response.status_code}: {response.text[:300]}")


def new_client(timeout: float, concurrency: int, *, allow_private: bool) -> httpx.AsyncClient:
    """No redirects: a 3xx to an internal address would walk around the URL checks; and connections only to public
    addresses, checked as they are made (a target re-pointed since its last check reaches nothing)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                             transport=public_only_transport(allow_private=allow_private, limits=limits))
