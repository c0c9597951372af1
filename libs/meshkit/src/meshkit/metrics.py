"""Prometheus metrics, one registry per service so several services can share a process."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

DURATION_BUCKETS = tuple(bound for bound in Histogram.DEFAULT_BUCKETS if bound != float("inf"))


class ServedRequests:
    """`http_requests_total` (method, route, status) and `http_request_duration_seconds` (method, route).

    Every request of every service counts here, so the request path keeps plain numbers (no label lookup, no lock:
    requests are served on one event loop thread) and Prometheus' families are made from them when scraped: the
    client library's `Counter.inc` and `Histogram.observe` cost a gateway call 3% of its time (bench/README.md).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        self.durations: dict[tuple[str, str], list[float]] = {}  # per bucket (le), then +Inf, then the sum
        registry.register(self)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        histogram = self.durations.get((method, route))
        if histogram is None:
            histogram = self.durations[method, route] = [0] * (len(DURATION_BUCKETS) + 2)
        histogram[bisect_left(DURATION_BUCKETS, seconds)] += 1
        histogram[-1] += seconds

    def describe(self) -> Iterator[Metric]:
        yield from self._families({}, {})

    def collect(self) -> Iterator[Metric]:
        yield from self._families(dict(self.counts), dict(self.durations))

    @staticmethod
    def _families(counts: dict[tuple[str, str, int], int],
                  durations: dict[tuple[str, str], list[float]]) -> Iterator[Metric]:
        requests = CounterMetricFamily("http_requests", "HTTP requests served.", labels=["method", "route", "status"])
        for (method, route, status), count in counts.items():
            requests.add_metric([method, route, str(status)], count)
        yield requests
        timed = HistogramMetricFamily("http_request_duration_seconds", "Time to serve an HTTP request.",
                                      labels=["method", "route"])
        for (method, route), histogram in durations.items():
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip((*DURATION_BUCKETS, float("inf")), histogram[:-1], strict=True):
                cumulative += in_bucket
                buckets.append((_bound(bound), cumulative))
            timed.add_metric([method, route], buckets, histogram[-1])
        yield timed


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http = ServedRequests(registry)
        self.outbox_pending = Gauge(
            "outbox_pending_events", "Unsent events seen by the last relay pass.", registry=registry)
        self.outbox_parked = Gauge(
            "outbox_parked_events", "Events the relay parked after they failed on their own; "
            "`bibliomesh <service> outbox parked` lists them.", registry=registry)
        self.events_published = Counter("events_published_total", "Events the broker confirmed.", registry=registry)
        self.events_consumed = Counter(
            "events_consumed_total", "Events handled, by outcome.", ["queue", "type", "outcome"], registry=registry)
        self.service = service
