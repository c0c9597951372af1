"""The request metrics kept as plain numbers read exactly as the client library's own Counter and Histogram."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.registry import Collector

from meshkit.metrics import ServedRequests


def samples(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {(sample.name, tuple(sorted(sample.labels.items())), round(sample.value, 9))
            for family in registry.collect() for sample in family.samples if not sample.name.endswith("_created")}


def test_served_requests_read_as_the_libraries_counter_and_histogram() -> None:
    ours, theirs = CollectorRegistry(auto_describe=True), CollectorRegistry(auto_describe=True)
    served = ServedRequests(ours)
    counter = Counter("http_requests_total", "HTTP requests served.", ["method", "route", "status"], registry=theirs)
    histogram = Histogram("http_request_duration_seconds", "Time to serve an HTTP request.", ["method", "route"],
                          registry=theirs)
    draw = random.Random(7)
    for _ in range(3_000):
        method, route, status = draw.choice(["GET", "POST"]), draw.choice(["/ill/*", "/catalog/*"]), \
            draw.choice([200, 404, 503])
        seconds = draw.choice([0.005, 0.01, 10.0, 11.0, draw.expovariate(20), draw.uniform(0, 12)])
        served.observe(method, route, status, seconds)
        counter.labels(method, route, str(status)).inc()
        histogram.labels(method, route).observe(seconds)

    assert samples(ours) == samples(theirs)


def test_its_names_are_checked_against_the_registrys_others() -> None:
    registry = CollectorRegistry(auto_describe=True)
    ServedRequests(registry)
    collector: Collector = Counter("http_requests_total", "again", registry=None)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        registry.register(collector)
