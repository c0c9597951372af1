"""Serving an app with its Prometheus metrics on a port of their own (a management port, like Envoy's admin port or
Spring's management port): what the public can reach never serves them, and Prometheus scrapes that port."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from meshkit.metrics import ServiceMetrics
from meshkit.web import metrics_endpoint


def metrics_app(metrics: ServiceMetrics) -> Starlette:
    """`GET /metrics` (the Prometheus text format of `metrics`) and nothing else."""
    endpoint = metrics_endpoint(metrics)

    async def serve_metrics(_request: Request) -> Response:
        return await endpoint()

    return Starlette(routes=[Route("/metrics", serve_metrics)])


def serve(app: ASGIApp, *, host: str, port: int, metrics: ServiceMetrics | None = None, metrics_port: int = 0,
          **options: Any) -> None:
    """`uvicorn.run(app, host=host, port=port, **options)`; with `metrics`, also `GET /metrics` on `metrics_port` of
    the same host, from the same process and event loop. Both start together and a signal stops both; if either
    cannot start (its port taken), the other stops too and the process exits with uvicorn's status."""
    if metrics is None:
        uvicorn.run(app, host=host, port=port, **options)
        return
    main = uvicorn.Config(app, host=host, port=port, **options)
    side = uvicorn.Config(metrics_app(metrics), host=host, port=metrics_port, log_config=None, lifespan="off",
                          access_log=False, http=main.http, server_header=False)
    with asyncio.Runner(loop_factory=main.get_loop_factory()) as runner:
        runner.run(serve_together(uvicorn.Server(main), uvicorn.Server(side)))


async def serve_together(*servers: uvicorn.Server) -> None:
    """Run `servers` until SIGINT or SIGTERM (then each shuts down gracefully; a second signal stops waiting for
    open connections), or until one of them stops."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        for server in servers:
            server.force_exit = server.should_exit
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        tasks = [asyncio.create_task(_serve(server)) for server in servers]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for server in servers:
            server.should_exit = True
        failures = [status for status in await asyncio.gather(*tasks) if status]
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if failures:
        raise SystemExit(failures[0])


async def _serve(server: uvicorn.Server) -> int:
    """The server's exit status: 0, or uvicorn's for a start that failed (a port taken, a lifespan failing)."""
    try:
        # `_serve` rather than `serve`: one set of signal handlers (ours) for all the servers, as in embedded mode.
        await server._serve()
    except SystemExit as exc:  # caught here, so the other servers still shut down in order
        return exc.code if isinstance(exc.code, int) else 1
    return 0
