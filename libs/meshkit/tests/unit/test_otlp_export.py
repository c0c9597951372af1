"""`otel_exporter=otlp`: a served request reaches an OpenTelemetry collector as the caller's child span, over real
OTLP/HTTP; a collector that is down or a malformed setting costs the spans, never the request."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from meshkit import telemetry
from meshkit.metrics import ServiceMetrics
from meshkit.telemetry import configure_tracing
from meshkit.testing import free_port
from meshkit.web import RequestContextMiddleware

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Collector:
    """The receiving end of OTLP/HTTP, as the OpenTelemetry Collector serves it on 4318: `POST /v1/traces`."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.paths.append(self.path)
                if self.path != "/v1/traces" or self.headers["Content-Type"] != "application/x-protobuf":
                    self.send_error(404)
                    return
                collector.requests.append(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads what arrived
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[dict[str, object], Span]]:
        """Every span received, with its resource's attributes."""
        found: list[tuple[dict[str, object], Span]] = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                found.extend((resource, span) for scope in resource_spans.scope_spans for span in scope.spans)
        return found


def _value(value: object) -> object:
    return getattr(value, value.WhichOneof("value"))  # type: ignore[attr-defined]


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    thread = threading.Thread(target=running.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(autouse=True)
def tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """configure_tracing as a fresh process would see it, whatever earlier tests configured: the process's provider
    exists (its sampler decides what is recorded), and no exporter has been added yet."""
    configure_tracing()
    monkeypatch.setattr(telemetry, "_provider", TracerProvider(resource=Resource.create({"service.name": "loans"})))
    monkeypatch.setattr(telemetry, "_exporters", set())
    monkeypatch.setattr(telemetry, "_processors", [])
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TIMEOUT",
                 "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE"):
        monkeypatch.delenv(name, raising=False)
    yield
    for processor in telemetry._processors:
        processor.shutdown()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()

    @app.get("/loans/{loan_id}")
    async def loan(loan_id: int) -> dict[str, int]:
        return {"id": loan_id}

    app.add_middleware(RequestContextMiddleware, service="loans", metrics=ServiceMetrics("loans"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loans") as client:
        yield client


async def test_a_served_request_reaches_the_collector_as_the_callers_child(
        collector: Collector, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)  # as deploy/k8s sets it: the base URL
    configure_tracing("otlp")

    response = await client.get("/loans/7", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert response.status_code == 200
    assert telemetry._provider is not None and telemetry._provider.force_flush()

    assert collector.paths == ["/v1/traces"]
    [(resource, span)] = collector.spans()
    assert span.name == "GET /loans/{loan_id}"  # named by its route; the path is an attribute
    assert span.kind == Span.SpanKind.SPAN_KIND_SERVER
    assert span.trace_id.hex() == CALLER_TRACE
    assert span.parent_span_id.hex() == CALLER_SPAN
    assert span.span_id.hex() not in ("", "0" * 16, CALLER_SPAN)
    attributes = {a.key: _value(a.value) for a in span.attributes}
    assert attributes["http.response.status_code"] == 200
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.path"] == "/loans/7" and attributes["http.route"] == "/loans/{loan_id}"
    assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
    assert resource["service.name"] == "loans"


async def test_a_collector_that_is_down_costs_the_spans_not_the_request(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    closed = free_port()   # nothing listens on it
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0.5")  # give up (retries included) quickly
    configure_tracing("otlp")
    assert len(telemetry._processors) == 1

    response = await client.get("/loans/7", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert response.status_code == 200
    assert response.json() == {"id": 7}

    with caplog.at_level(logging.WARNING, logger="opentelemetry"):
        assert telemetry._provider is not None
        telemetry._provider.force_flush()  # the export fails here, in the exporter, and is only logged
    assert any("Failed to export" in r.getMessage() for r in caplog.records), caplog.text


async def test_a_malformed_otlp_setting_leaves_the_service_serving_and_says_so(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "-1")  # the SDK's batch processor refuses it
    with caplog.at_level(logging.ERROR, logger="meshkit.telemetry"):
        configure_tracing("otlp")
    assert telemetry._processors == []
    assert "OTLP span export is off" in caplog.text

    response = await client.get("/loans/7", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert response.status_code == 200
