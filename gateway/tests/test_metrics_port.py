"""Where the gateway's Prometheus metrics are served: in distributed mode on a port of their own that `serve` opens
beside the public one (which answers them, and the web front end's, with 404); in embedded mode on the one port."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.tests.gateway_fixtures import FakeService, RestartableServer, platform, problem
from meshkit.testing import free_port, serving


def requests_counted(text: str) -> Counter[tuple[str, str]]:
    """(route, status) -> count (all methods), from `http_requests_total` in Prometheus text."""
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "http_requests"]
    counted: Counter[tuple[str, str]] = Counter()
    for sample in family.samples:
        if sample.name == "http_requests_total":
            counted[sample.labels["route"], sample.labels["status"]] += int(sample.value)
    return counted


@pytest.fixture
async def web() -> FakeService:
    return FakeService("web")


async def test_in_distributed_mode_serve_gives_metrics_a_port_of_their_own(web: FakeService) -> None:
    front = RestartableServer(web.app())
    await front.start()
    port, metrics_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env.update(GATEWAY_MODE="distributed", GATEWAY_METRICS_PORT=str(metrics_port), GATEWAY_WEB_URL=front.url,
               GATEWAY_REDIS_URL="redis://127.0.0.1:9/0", GATEWAY_LOG_LEVEL="WARNING")
    public, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    command = [sys.executable, "-m", "bibliomesh_gateway.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    try:
        async with serving(command, env, f"{public}/healthz"), httpx.AsyncClient(timeout=5) as client:
            for method, path in [("GET", "/metrics"), ("GET", "/web/metrics"), ("HEAD", "/web/metrics"),
                                 ("POST", "/metrics"), ("GET", "/web%2Fmetrics"), ("GET", "/web/%6Detrics")]:
                answer = await client.request(method, f"{public}{path}")
                assert answer.status_code == 404, (method, path)
                if method != "HEAD":
                    assert problem(answer)["status"] == 404
            assert (await client.get(f"{public}/web/healthz")).status_code == 200  # the web front end is there
            assert [call["path"] for call in web.calls] == ["/web/healthz"]  # and was never asked for metrics

            scraped = await client.get(f"{metrics}/metrics")
            assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
            counted = requests_counted(scraped.text)  # the gateway's own registry: the calls above
            assert counted["/healthz", "200"] >= 1
            assert (counted["/metrics", "404"], counted["/web/metrics", "404"]) == (2, 4)
            assert (await client.get(f"{metrics}/healthz")).status_code == 404  # metrics, nothing else
        async with httpx.AsyncClient(timeout=2) as client:
            for url in (public, metrics):  # both closed by the one SIGTERM
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"{url}/metrics")
    finally:
        await front.stop()


async def test_in_embedded_mode_metrics_stay_on_the_one_port(web: FakeService) -> None:
    front = RestartableServer(web.app())
    await front.start()
    try:
        async with platform(web_url=front.url) as gateway, gateway.client() as client:
            await client.get("/healthz")
            scraped = await client.get("/metrics")
            assert scraped.status_code == 200
            assert requests_counted(scraped.text)["/healthz", "200"] == 1
            # The web front end's own metrics, through the gateway as before (one process, on loopback).
            passed_on = await client.get("/web/metrics")
            assert passed_on.status_code == 200 and passed_on.json() == {"service": "web", "path": "/web/metrics"}
    finally:
        await front.stop()


async def test_serve_does_not_run_without_its_metrics_port() -> None:
    """A pod whose metrics port is taken fails its start (and is restarted) rather than serving unwatched."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
        env.update(GATEWAY_MODE="distributed", GATEWAY_METRICS_PORT=str(taken.getsockname()[1]),
                   GATEWAY_REDIS_URL="redis://127.0.0.1:9/0", GATEWAY_LOG_LEVEL="WARNING")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bibliomesh_gateway.cli", "serve", "--host", "127.0.0.1", "--port",
            str(free_port()), env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, said = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 3  # uvicorn's status for a start that failed
    assert b"address already in use" in said
