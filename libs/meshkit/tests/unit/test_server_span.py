"""The server span every request gets: the caller's trace continued, sampled exactly as the SDK's samplers would,
failures recorded, and only sampled spans handed to the exporters."""

from __future__ import annotations

import random

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import sampling

from meshkit.metrics import ServiceMetrics
from meshkit.telemetry import (
    _NO_PARENT,
    ServerSpan,
    _parse_traceparent,
    configure_tracing,
    memory_exporter,
    sampled,
)
from meshkit.web import RequestContextMiddleware

SAMPLERS = [sampling.DEFAULT_ON, sampling.ParentBasedTraceIdRatio(0.25), sampling.ParentBasedTraceIdRatio(0.0),
            sampling.DEFAULT_OFF, sampling.TraceIdRatioBased(0.5), sampling.ALWAYS_OFF]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: s.get_description()[:40])
def test_the_decision_is_the_samplers_own(sampler: sampling.Sampler) -> None:
    ids = random.Random(7)
    for _ in range(2000):
        trace_id = ids.getrandbits(128)
        for parent in (None, _remote(trace_id, sampled=True), _remote(trace_id, sampled=False)):
            context = trace.set_span_in_context(trace.NonRecordingSpan(parent), _NO_PARENT) if parent else _NO_PARENT
            expected = sampler.should_sample(context, trace_id, "GET /x", trace.SpanKind.SERVER).decision
            assert sampled(sampler, parent, trace_id, "GET /x", {}) is (
                expected is sampling.Decision.RECORD_AND_SAMPLE), (sampler.get_description(), parent)


@pytest.mark.parametrize("value", [
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  # upper case
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # no trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # no span id
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # a version that is never valid
    "00-4bf92f3577b34da6a3ce929d0e0e473_-00f067aa0ba902b7-01",  # not hex
    "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # what int() would have read
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # cut short
    "garbage",
])
def test_a_malformed_traceparent_starts_a_new_trace(value: str) -> None:
    assert _parse_traceparent(value, None) is None


def test_a_traceparent_is_read_with_its_flags_and_tracestate() -> None:
    plain = _parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", None)
    with_state = _parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=opaque")
    assert plain is not None and with_state is not None
    assert (plain.trace_id, plain.span_id, plain.trace_flags.sampled, plain.is_remote) == (
        0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, False, True)
    assert with_state.trace_flags.sampled and with_state.trace_state.get("vendor") == "opaque"


async def test_a_failed_request_is_exported_as_an_error_with_the_exception_and_the_callers_parent() -> None:
    configure_tracing("memory")
    memory_exporter.clear()
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the shelf fell over")

    @app.get("/quiet")
    async def quiet() -> dict[str, str]:
        return {"traceparent_seen": format(trace.get_current_span().get_span_context().trace_id, "032x")}

    app.add_middleware(RequestContextMiddleware, service="test", metrics=ServiceMetrics("test-span"))
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    unsampled = "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        failed = await client.get("/boom", headers={"traceparent": caller})
        seen = await client.get("/quiet", headers={"traceparent": unsampled})

    assert failed.status_code == 500
    assert seen.json()["traceparent_seen"] == "5bf92f3577b34da6a3ce929d0e0e4736"  # current while it ran
    spans = [s for s in memory_exporter.get_finished_spans() if s.instrumentation_scope.name == "meshkit.http"]
    assert [s.name for s in spans] == ["GET /boom"]  # the caller did not sample the other one
    span = spans[0]
    assert span.kind is trace.SpanKind.SERVER and span.status.status_code is trace.StatusCode.ERROR
    assert span.parent is not None and span.parent.span_id == 0x00F067AA0BA902B7
    assert span.context.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 500
    assert [e.name for e in span.events] == ["exception"]
    assert span.events[0].attributes is not None
    assert span.events[0].attributes["exception.message"] == "the shelf fell over"
    assert span.start_time is not None and span.end_time is not None and span.end_time >= span.start_time


def _remote(trace_id: int, *, sampled: bool) -> trace.SpanContext:
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT)
    return trace.SpanContext(trace_id or 1, 0x1234, is_remote=True, trace_flags=flags)


def test_without_the_sdk_the_callers_trace_passes_through_as_it_came(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", trace.NoOpTracerProvider)  # as a library user without the SDK
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    span = ServerSpan("GET", "/x", caller)
    try:
        assert span.traceparent == caller
        assert trace.get_current_span() is span and span.get_span_context().is_valid
    finally:
        span.end()
