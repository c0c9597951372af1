"""The processes of the gateway benchmark, each started as `python -m bench.gateway_env ROLE ...`:

  upstream               a small FastAPI app (GET /ill/ping, the JWKS at /auth/jwks), one uvicorn worker
  passthrough CLIENT     a bare ASGI pass-through proxy with one upstream client (aiohttp, httpx, httpx2): the
                         baseline, nothing but forwarding (streamed both ways, hop-by-hop headers dropped);
                         `fastapi-aiohttp`: the same as a minimal FastAPI app (a catch-all route), as in the issue
  gateway                the real gateway (`bibliomesh_gateway.app.create_app`): edge authentication, rate
                         limiting (in memory), request ids, tracing, JSON access logs, CORS, security headers
  collector              an OTLP/HTTP trace receiver (POST /v1/traces, decoded and counted; GET /spans: the count),
                         standing in for the OpenTelemetry Collector the gateway exports to
  load URL               a load generator (aiohttp client, its own process): prints {"requests", "seconds", ...}
  latency URL            one request at a time: prints the latencies in milliseconds

Servers run with uvloop and httptools, one worker, no uvicorn access log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                        b"trailer", b"transfer-encoding", b"upgrade", b"host"})
JWKS_ENV = "BENCH_GATEWAY_JWKS"
EXPORTER_ENV = "BENCH_GATEWAY_OTEL_EXPORTER"
SETTLE_HEAP_ENV = "BENCH_SETTLE_HEAP"
ISSUER = "http://bench.invalid"
Asgi = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
                Awaitable[None]]


def upstream_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    jwks = json.loads(os.environ.get(JWKS_ENV, '{"keys": []}'))

    @app.get("/ill/ping")
    async def ping() -> dict[str, Any]:
        return {"status": "ok", "service": "ill", "items": [{"id": n, "title": f"Item {n}"} for n in range(3)]}

    @app.get("/auth/jwks")
    async def keys() -> JSONResponse:
        return JSONResponse(jwks)

    return app


async def _request_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body"):
            return


def _has_body(scope: dict[str, Any]) -> bool:
    return any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])


def _target(base: str, scope: dict[str, Any]) -> str:
    query = scope["query_string"].decode("latin-1")
    return f"{base}{scope['path']}?{query}" if query else f"{base}{scope['path']}"


def _lifespan(start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]) -> Asgi:
    async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan


def aiohttp_passthrough(base: str) -> Asgi:
    import aiohttp

    holder: dict[str, aiohttp.ClientSession] = {}

    async def start() -> None:
        holder["session"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding"), timeout=aiohttp.ClientTimeout(total=30))

    async def stop() -> None:
        await holder["session"].close()

    lifespan = _lifespan(start, stop)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(scope, receive, send)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        body = _request_body(receive) if _has_body(scope) else None
        async with holder["session"].request(scope["method"], _target(base, scope), headers=headers, data=body,
                                             allow_redirects=False) as response:
            await send({"type": "http.response.start", "status": response.status,
                        "headers": [(k.lower(), v) for k, v in response.raw_headers
                                    if k.lower() not in HOP_BY_HOP]})
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    return app


def fastapi_passthrough(base: str) -> Any:
    """The kind the issue's first measurement used: a minimal FastAPI app, one catch-all route, aiohttp."""
    import aiohttp
    from fastapi import FastAPI, Request
    from starlette.background import BackgroundTask
    from starlette.responses import StreamingResponse

    holder: dict[str, aiohttp.ClientSession] = {}

    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        holder["session"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding"), timeout=aiohttp.ClientTimeout(total=30))
        yield
        await holder["session"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    async def forward(request: Request) -> StreamingResponse:
        headers = [(k, v) for k, v in request.headers.items() if k.encode() not in HOP_BY_HOP]
        body = request.stream() if _has_body(request.scope) else None
        response = await holder["session"].request(request.method, _target(base, request.scope), headers=headers,
                                                    data=body, allow_redirects=False)
        streamed = StreamingResponse(response.content.iter_any(), status_code=response.status,
                                     background=BackgroundTask(response.release))
        streamed.raw_headers = [(k.lower(), v) for k, v in response.raw_headers if k.lower() not in HOP_BY_HOP]
        return streamed

    # Imported here (only this process needs FastAPI), so the annotations are given as objects, not names.
    forward.__annotations__ = {"request": Request, "return": StreamingResponse}
    app.add_api_route("/{path:path}", forward, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    return app


def httpx_passthrough(base: str, module_name: str) -> Asgi:
    module: Any = __import__(module_name)
    holder: dict[str, Any] = {}

    async def start() -> None:
        limits = module.Limits(max_connections=200, max_keepalive_connections=100)
        holder["client"] = module.AsyncClient(timeout=30, limits=limits)

    async def stop() -> None:
        await holder["client"].aclose()

    lifespan = _lifespan(start, stop)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(scope, receive, send)
        client = holder["client"]
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        content = _request_body(receive) if _has_body(scope) else None
        request = client.build_request(scope["method"], _target(base, scope), headers=headers, content=content)
        response = await client.send(request, stream=True)
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k.lower(), v) for k, v in response.headers.raw
                                    if k.lower() not in HOP_BY_HOP]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    return app


def collector_app() -> Asgi:
    """Receives OTLP/HTTP exports as a collector does (each request decoded) and counts the spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received = {"spans": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b"".join([chunk async for chunk in _request_body(receive)])
        if scope["method"] == "POST":
            export = ExportTraceServiceRequest.FromString(body)
            received["spans"] += sum(len(scoped.spans) for resource in export.resource_spans
                                     for scoped in resource.scope_spans)
            answer, kind = b"", b"application/x-protobuf"
        else:
            answer, kind = json.dumps(received).encode(), b"application/json"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    return app


def gateway_app(base: str) -> Any:
    from bibliomesh_gateway.app import create_app
    from bibliomesh_gateway.settings import GatewaySettings

    settings = GatewaySettings(auth_url=base, catalog_url=base, ill_url=base, notify_url=base,
                               token_issuer=ISSUER, mode="embedded",
                               otel_exporter=os.environ.get(EXPORTER_ENV, "none"),  # type: ignore[arg-type]
                               rate_limit_caller="1000000/minute", rate_limit_institution="1000000/minute",
                               rate_limit_anonymous="1000000/minute")
    return create_app(settings)


def serve(app: Any, port: int, **deployed: Any) -> None:
    import uvicorn

    if os.environ.get(SETTLE_HEAP_ENV):  # the garbage collector set as every Bibliomesh service sets it
        from meshkit.heap import settle_heap

        settle_heap()

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", workers=1, access_log=False,
                log_level="warning", lifespan="on", **deployed)


async def load(url: str, connections: int, seconds: float, headers: dict[str, str]) -> dict[str, Any]:
    """`connections` clients in a loop for `seconds`; counts answers by status."""
    import aiohttp

    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                async with session.get(url) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return {"requests": sum(statuses.values()), "seconds": elapsed, "statuses": statuses}


async def latency(url: str, count: int, headers: dict[str, str]) -> list[float]:
    """One request at a time over one keep-alive connection; milliseconds each."""
    import aiohttp

    samples = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), headers=headers) as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["upstream", "passthrough", "gateway", "collector", "load", "latency"])
    parser.add_argument("target", nargs="?", default="", help="client name, upstream URL or URL to load")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", default="")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args(argv)
    headers = dict(h.split(": ", 1) for h in args.header)
    if args.role == "upstream":
        serve(upstream_app(), args.port)
    elif args.role == "passthrough":
        if args.target == "aiohttp":
            serve(aiohttp_passthrough(args.upstream), args.port)
        elif args.target == "fastapi-aiohttp":
            serve(fastapi_passthrough(args.upstream), args.port)
        else:
            serve(httpx_passthrough(args.upstream, args.target), args.port)
    elif args.role == "gateway":
        serve(gateway_app(args.upstream), args.port, server_header=False)  # as `bibliomesh-gateway serve` runs it
    elif args.role == "collector":
        serve(collector_app(), args.port)
    elif args.role == "load":
        import uvloop

        print(json.dumps(uvloop.run(load(args.target, args.connections, args.seconds, headers))))
    else:
        import uvloop

        print(json.dumps(uvloop.run(latency(args.target, args.count, headers))))


if __name__ == "__main__":
    main(sys.argv[1:])
