"""Streaming reverse proxy: bodies pass through in chunks both ways, never buffered whole."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from meshkit import context
from meshkit.problems import problem_response
from meshkit.telemetry import current_traceparent

log = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "host", "content-length"})


def _forward_headers(request: Request) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"traceparent"}]
    if request.client:
        headers.append(("x-forwarded-for", request.client.host))
    headers.append(("x-forwarded-proto", request.url.scheme))
    if (request_id := context.request_id.get()) and "x-request-id" not in request.headers:
        headers.append(("x-request-id", request_id))
    if traceparent := current_traceparent():
        headers.append(("traceparent", traceparent))
    return headers


async def forward(client: httpx.AsyncClient, service: str, base_url: str, request: Request) -> Response:
    url = httpx.URL(base_url.rstrip("/") + request.url.path, query=request.url.query.encode())
    has_body = request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") or "content-length" in request.headers
    upstream_request = client.build_request(request.method, url, headers=_forward_headers(request),
                                            content=request.stream() if has_body else None)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        log.warning("upstream timed out", extra={"upstream": service})
        return problem_response(504, f"the {service} service did not answer in time")
    except httpx.TransportError as exc:
        log.warning("upstream unreachable", extra={"upstream": service, "error": type(exc).__name__})
        return problem_response(503, f"the {service} service is unavailable; try again shortly",
                                headers={"Retry-After": "5"})
    headers = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP]
    response = StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                 background=BackgroundTask(upstream.aclose))
    response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return response
