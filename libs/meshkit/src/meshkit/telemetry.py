"""OpenTelemetry tracing: W3C traceparent in, traceparent out, over HTTP and AMQP alike.

Observability never takes its host down: a failing exporter is logged, not raised.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections.abc import Mapping
from functools import lru_cache

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)
_propagator = TraceContextTextMapPropagator()
memory_exporter = InMemorySpanExporter()
_provider: TracerProvider | None = None
_exporters: set[str] = set()
_processors: list[SpanProcessor] = []  # what configure_tracing gave the provider: where server spans go


def configure_tracing(exporter: str = "none", service: str = "bibliomesh") -> None:
    """One tracer provider per process (several services in one process share it, named `service` by the first
    call); each exporter added once.

    `otlp` sends batches over OTLP/HTTP from a background thread, to where the standard `OTEL_EXPORTER_OTLP_*`
    variables say; the sampler comes from `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (read by the SDK
    when the provider is made). An unreachable collector costs dropped spans and log lines, never a request.
    """
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
        trace.set_tracer_provider(_provider)
    if exporter in _exporters:
        return
    processor: SpanProcessor | None = None
    if exporter == "otlp":
        try:
            processor = otlp_processor()
        except Exception:  # e.g. a malformed OTEL_EXPORTER_OTLP_* variable: serve without export, say so
            log.exception("OTLP span export is off: the exporter could not be set up")
            return
    elif exporter in ("console", "memory"):
        # Simple (synchronous) export only for console and tests.
        processor = SimpleSpanProcessor(ConsoleSpanExporter() if exporter == "console" else memory_exporter)
    if processor is not None:
        _provider.add_span_processor(processor)
        _processors.append(processor)
    _exporters.add(exporter)


def otlp_processor(endpoint: str | None = None) -> BatchSpanProcessor:
    """Batched OTLP/HTTP export to `endpoint` (the full `.../v1/traces` URL), by default where
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, points."""
    # Imported here: the exporter brings requests and protobuf (a tenth of a second), paid only where it is used.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span (what the propagator would inject, at a tenth of its cost)."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return None
    return f"00-{span.trace_id:032x}-{span.span_id:016x}-{span.trace_flags:02x}"


def context_from(headers: Mapping[str, str]) -> otel_context.Context:
    """The trace context carried by incoming headers (HTTP or AMQP), or the current one if none."""
    return _propagator.extract(carrier={k.lower(): v for k, v in headers.items()})


def trace_id_hex() -> str | None:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None


_SERVER_SCOPE = InstrumentationScope("meshkit.http")
_UNSET = trace.Status(trace.StatusCode.UNSET)
_SAMPLED, _NOT_SAMPLED = trace.TraceFlags(trace.TraceFlags.SAMPLED), trace.TraceFlags(trace.TraceFlags.DEFAULT)
_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_NO_PARENT = otel_context.Context()
_TRACE_ID_LIMIT = sampling.TraceIdRatioBased.TRACE_ID_LIMIT


class ServerSpan(trace.NonRecordingSpan):
    """The one span of a served request, kept as plain values while the request runs and handed to the exporters
    as a finished span when it ends.

    Outwardly it is an ordinary span: it continues the caller's `traceparent`, the configured sampler (the standard
    `OTEL_TRACES_SAMPLER` variables) decides whether it is recorded, it is the current span while the request runs
    (so log lines, outgoing calls and child spans carry it), and exporters receive it like any other, named
    `{method} {route}` with the HTTP semantic conventions' attributes. Inwardly it skips what the SDK's `Span` does
    for a span that is still open (locks, attribute validation, bounded collections, processors' `on_start`, the
    sampler's result objects): a third of the SDK span's cost on every call (bench/README.md, gateway). Its
    `SpanContext`, name and attributes are made only when something needs them (a child span, a log line, the
    export of a sampled span): a proxied call that is not sampled needs only its ids and its `traceparent`.
    """

    def __init__(self, method: str, path: str, traceparent: str | None = None, tracestate: str | None = None) -> None:
        self.method = method
        self.path = path
        self.parent = parent = _parse_traceparent(traceparent, tracestate) if traceparent else None
        setup = _tracing()
        if setup is None:  # no SDK provider: nothing is recorded, the caller's trace passes through as it came
            self.trace_id, self.span_id, self.sampled = \
                (parent.trace_id, parent.span_id, parent.trace_flags.sampled) if parent else (0, 0, False)
        else:
            self.trace_id = parent.trace_id if parent is not None else setup.new_trace_id()
            self.span_id = setup.new_span_id()
            bound = setup.ratio_bound
            if bound is None:
                self.sampled = sampled(setup.sampler, parent, self.trace_id, f"{method} {path}",
                                       {"http.request.method": method, "url.path": path})
            else:  # the SDK's parent-based samplers, decided in place: the caller decides, else the trace id
                self.sampled = parent.trace_flags.sampled if parent is not None \
                    else self.trace_id & _TRACE_ID_LIMIT < bound
        self.route: str | None = None  # the route template, once the app has matched one
        self.status_code = 0
        self.events: tuple[Event, ...] = ()
        self.status = _UNSET
        self._span_context: trace.SpanContext | None = None
        self._hex_ids: tuple[str, str] | None = None
        self.start_ns = time.time_ns() if self.sampled else 0
        self._token = otel_context.attach(trace.set_span_in_context(self))

    def get_span_context(self) -> trace.SpanContext:
        if self._span_context is None:
            parent = self.parent
            self._span_context = trace.SpanContext(
                self.trace_id, self.span_id, is_remote=False, trace_flags=_SAMPLED if self.sampled else _NOT_SAMPLED,
                trace_state=parent.trace_state if parent is not None else None)
        return self._span_context

    @property
    def context(self) -> trace.SpanContext:
        return self.get_span_context()

    @property
    def name(self) -> str:
        return f"{self.method} {self.route or self.path}"

    @property
    def attributes(self) -> dict[str, str | int]:
        """The HTTP semantic conventions' attributes of the request as far as it went."""
        attributes: dict[str, str | int] = {"http.request.method": self.method, "url.path": self.path}
        if self.status_code:
            attributes["http.response.status_code"] = self.status_code
        if self.route:
            attributes["http.route"] = self.route
        return attributes

    @property
    def traceparent(self) -> str | None:
        """This span's W3C `traceparent`, for the calls made on the request's behalf (None without tracing)."""
        if not self.span_id:
            return None
        trace_id, span_id = self.hex_ids
        return f"00-{trace_id}-{span_id}-{'01' if self.sampled else '00'}"

    @property
    def hex_ids(self) -> tuple[str, str]:
        """The trace id and span id in hex, as `traceparent` and log lines write them (formatted once; `to_bytes`
        and `hex` cost half of a `032x` format)."""
        if self._hex_ids is None:
            self._hex_ids = (self.trace_id.to_bytes(16, "big").hex(), self.span_id.to_bytes(8, "big").hex())
        return self._hex_ids

    def failed(self, exc: BaseException) -> None:
        self.status = trace.Status(trace.StatusCode.ERROR, type(exc).__name__)
        self.events += (Event("exception", {
            "exception.type": type(exc).__qualname__, "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(exc))}),)

    def end(self, end_time: int | None = None) -> None:
        """Ends the span: it stops being current and, if sampled, goes to the exporters."""
        otel_context.detach(self._token)
        if not self.sampled or not _processors or _provider is None:
            return
        finished = ReadableSpan(
            self.name, context=self.get_span_context(), parent=self.parent, resource=_provider.resource,
            attributes=self.attributes, events=self.events, kind=trace.SpanKind.SERVER, status=self.status,
            start_time=self.start_ns, end_time=end_time or time.time_ns(), instrumentation_scope=_SERVER_SCOPE)
        for processor in _processors:
            try:
                processor.on_end(finished)
            except Exception:  # observability never takes its host down
                log.exception("a span processor failed")

    def __repr__(self) -> str:
        return f"ServerSpan({self.name!r}, trace_id={self.trace_id:032x}, span_id={self.span_id:016x})"


class _TracingSetup:
    """What a server span needs of the SDK's tracer provider, looked up once per provider."""

    __slots__ = ("new_span_id", "new_trace_id", "ratio_bound", "sampler")

    def __init__(self, provider: TracerProvider) -> None:
        self.sampler = provider.sampler
        self.ratio_bound = _parent_based_ratio_bound(provider.sampler)
        self.new_trace_id = provider.id_generator.generate_trace_id
        self.new_span_id = provider.id_generator.generate_span_id


_tracing_of: tuple[object, _TracingSetup | None] = (None, None)


def _tracing() -> _TracingSetup | None:
    """The SDK provider's ids and sampling; None when the global provider is not the SDK's. Looked up again only
    when the global provider changes."""
    global _tracing_of
    provider = trace.get_tracer_provider()
    if _tracing_of[0] is not provider:
        _tracing_of = (provider, _TracingSetup(provider) if isinstance(provider, TracerProvider) else None)
    return _tracing_of[1]


def sampled(sampler: sampling.Sampler, parent: trace.SpanContext | None, trace_id: int, name: str,
            attributes: dict[str, str | int]) -> bool:
    """Whether `sampler` records a server span continuing `parent` (None: a new trace)."""
    bound = _parent_based_ratio_bound(sampler)
    if bound is not None:  # the SDK's parent-based samplers: the caller decides, else the trace id
        return parent.trace_flags.sampled if parent is not None \
            else trace_id & sampling.TraceIdRatioBased.TRACE_ID_LIMIT < bound
    parent_context = trace.set_span_in_context(trace.NonRecordingSpan(parent), _NO_PARENT) \
        if parent is not None else _NO_PARENT
    decision = sampler.should_sample(parent_context, trace_id, name, trace.SpanKind.SERVER, attributes)
    return decision.decision is sampling.Decision.RECORD_AND_SAMPLE


@lru_cache(maxsize=4)
def _parent_based_ratio_bound(sampler: sampling.Sampler) -> int | None:
    """For the SDK's standard parent-based samplers (`parentbased_always_on`, `parentbased_traceidratio`: the
    default and what deployments set), the trace-id bound under which a new trace is sampled, so a server span
    decides in place what the sampler would (the sampler's result objects cost as much as the rest of the span);
    None for any other sampler, which is then asked."""
    if sampler is sampling.DEFAULT_ON:
        return sampling.TraceIdRatioBased.TRACE_ID_LIMIT + 1
    root = getattr(sampler, "_root", None)
    if type(sampler) is sampling.ParentBasedTraceIdRatio and isinstance(root, sampling.TraceIdRatioBased):
        return root.bound
    return None


def _parse_traceparent(traceparent: str, tracestate: str | None) -> trace.SpanContext | None:
    """The caller's span from a W3C `traceparent` (version 00 read directly, anything else by the propagator)."""
    match = _TRACEPARENT_00.fullmatch(traceparent) if tracestate is None else None
    if match is not None:
        trace_id, span_id = int(match[1], 16), int(match[2], 16)
        if not trace_id or not span_id:
            return None
        return trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(int(match[3], 16)))
    carrier = {"traceparent": traceparent, **({"tracestate": tracestate} if tracestate else {})}
    span = trace.get_current_span(_propagator.extract(carrier=carrier, context=_NO_PARENT)).get_span_context()
    return span if span.is_valid else None
