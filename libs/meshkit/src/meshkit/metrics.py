"""Prometheus metrics, one registry per service so several services can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests served.", ["method", "route", "status"], registry=registry)
        self.http_duration = Histogram(
            "http_request_duration_seconds", "Time to serve an HTTP request.", ["method", "route"], registry=registry)
        self.outbox_pending = Gauge(
            "outbox_pending_events", "Unsent events seen by the last relay pass.", registry=registry)
        self.events_published = Counter("events_published_total", "Events the broker confirmed.", registry=registry)
        self.events_consumed = Counter(
            "events_consumed_total", "Events handled, by outcome.", ["queue", "type", "outcome"], registry=registry)
        self.service = service
