"""Where the web front end's Prometheus metrics are served: `serve` puts them on a port of their own
(`WEB_METRICS_PORT`), apart from the pages the gateway passes on; with 0 (embedded mode) beside the pages."""

from __future__ import annotations

import os
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bibliomesh_web.app import create_app
from bibliomesh_web.settings import WebSettings
from meshkit.testing import free_port, serving


def routes_counted(text: str) -> set[tuple[str, str]]:
    """(route, status) of every `http_requests_total` sample in Prometheus text."""
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "http_requests"]
    return {(s.labels["route"], s.labels["status"]) for s in family.samples if s.name == "http_requests_total"}


async def test_serve_gives_metrics_a_port_of_their_own() -> None:
    port, metrics_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WEB_")}
    env.update(WEB_METRICS_PORT=str(metrics_port), WEB_API_URL="http://127.0.0.1:9", WEB_LOG_LEVEL="WARNING")
    pages, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    command = [sys.executable, "-m", "bibliomesh_web.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    async with serving(command, env, f"{pages}/web/healthz"), httpx.AsyncClient(timeout=5) as client:
        hidden = await client.get(f"{pages}/web/metrics")
        assert hidden.status_code == 404 and hidden.headers["content-type"] == "application/problem+json"
        scraped = await client.get(f"{metrics}/metrics")
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
        assert {("/web/healthz", "200"), ("unmatched", "404")} <= routes_counted(scraped.text)


async def test_with_no_metrics_port_they_are_beside_the_pages() -> None:
    settings = WebSettings(public_url="http://web.test", api_url="http://127.0.0.1:9", log_json=False, metrics_port=0)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        await client.get("/web/healthz")
        scraped = await client.get("/web/metrics")
    assert scraped.status_code == 200
    assert ("/web/healthz", "200") in routes_counted(scraped.text)
